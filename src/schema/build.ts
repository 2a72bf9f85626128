import type { GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { buildSchema, type PubSub } from 'type-graphql';
import { authChecker } from '../context';
import { resolvers } from '../resolvers';

/** The executable schema: type-graphql classes from src/schema and src/resolvers. */
export function buildAppSchema(pubSub: PubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers,
    authChecker,
    pubSub,
    // Inputs are validated by the domain services, which own the rules and the messages.
    validate: false,
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
  });
}
