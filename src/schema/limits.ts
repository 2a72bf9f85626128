import depthLimit from 'graphql-depth-limit';
import { BREAK, GraphQLError, visit, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { getComplexity, simpleEstimator } from 'graphql-query-complexity';
import type { ApolloServerPlugin } from '@apollo/server';

/** Deepest sensible operation: me → reservations → seat → schedule → concert → schedules → seats → … */
const MAX_DEPTH = 10;
/** Every field costs 1; an operation selecting more fields than this is refused before anything runs. */
const MAX_COMPLEXITY = 500;

/** Extra validation rules for HTTP and WebSocket operations (failures are GRAPHQL_VALIDATION_FAILED). */
export function limitRules(): ValidationRule[] {
  return [depthLimit(MAX_DEPTH)];
}

/**
 * Costs of operations whose cost cannot depend on variables (no directives such as @skip(if: $x)):
 * Apollo and the subscription path reuse one parsed document per query text, so each is costed once.
 */
const fixedCosts = new WeakMap<DocumentNode, Map<string, number>>();

function hasDirectives(document: DocumentNode): boolean {
  let found = false;
  visit(document, { Directive: () => { found = true; return BREAK; } });
  return found;
}

/** The cost check needs the variables, so it runs after validation rather than as a rule. */
export function complexityError(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | null | undefined, operationName?: string | null): GraphQLError | undefined {
  const cached = fixedCosts.get(document)?.get(operationName ?? '');
  let complexity: number;
  try {
    complexity = cached ?? getComplexity({ schema, query: document, variables: variables ?? {}, operationName: operationName ?? undefined, estimators: [simpleEstimator({ defaultComplexity: 1 })] });
  } catch {
    return undefined; // malformed variables: graphql-js reports them itself with its own code
  }
  if (cached === undefined && !hasDirectives(document)) {
    const costs = fixedCosts.get(document) ?? new Map<string, number>();
    fixedCosts.set(document, costs.set(operationName ?? '', complexity));
  }
  if (complexity <= MAX_COMPLEXITY) return undefined;
  return new GraphQLError(`This operation is too expensive (cost ${complexity}, limit ${MAX_COMPLEXITY}): ask for fewer fields.`, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
  });
}

/** Apollo plugin applying the cost limit to HTTP operations. */
export function complexityPlugin(schema: GraphQLSchema): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document }) {
          const error = complexityError(schema, document, request.variables, request.operationName);
          if (error) throw error;
        },
      };
    },
  };
}
