import { getOperationAST, getVariableValues, GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { UNRUNNABLE_OPERATION } from './format-error';

/**
 * What graphql-js would refuse in an operation sent over the socket before running it, with the code
 * the same mistake gets over HTTP from Apollo: no operation to run (none by that name, or several and
 * no name) is GRAPHQL_VALIDATION_FAILED (Apollo's OPERATION_RESOLUTION_FAILURE, as the formatter answers it); variables that do not fit their types are BAD_USER_INPUT.
 * Left to graphql-js, these errors carry no code and would read as an internal error.
 */
export function socketOperationError(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Record<string, unknown> | null | undefined): GraphQLError | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) {
    const message = operationName ? `Unknown operation named "${operationName}".` : 'Must provide operation name if query contains multiple operations.';
    return new GraphQLError(message, { extensions: { code: UNRUNNABLE_OPERATION } });
  }
  const { errors } = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}, { maxErrors: 1 });
  const [first] = errors ?? [];
  return first && new GraphQLError(first.message, { extensions: { code: 'BAD_USER_INPUT' } });
}
