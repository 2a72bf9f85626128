import depthLimit from 'graphql-depth-limit';
import {
  BREAK,
  getNamedType,
  getNullableType,
  getOperationAST,
  GraphQLError,
  isIntrospectionType,
  isLeafType,
  isListType,
  Kind,
  OperationTypeNode,
  visit,
  type ASTVisitor,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import { MAX_HISTORY } from '../points/points-service';

/** Deepest sensible operation: me → reservations → seat → schedule → concert → schedules → seats → … */
const MAX_DEPTH = 10;
/** Fields an operation may select, counting each fragment where it is spread. */
const MAX_FIELDS = 500;
/** Root fields (aliases included) per operation: each one is a separate walk of the data. */
const MAX_ROOT_FIELDS = 20;
/**
 * Root fields that hash a password (scrypt: tens of milliseconds of a worker thread and 128 MiB
 * each): one per operation, or twenty aliases would buy twenty hashes for one counted operation.
 */
const PASSWORD_FIELDS = new Set(['signUp', 'logIn']);
/**
 * Estimated work per operation: every field returning an object costs 1, scalars cost nothing, and a
 * list multiplies its children's cost by its assumed size (below), each item costing at least
 * LIST_ITEM_COST. A query reading lists inside lists is refused before it runs, however few fields
 * it names.
 */
const MAX_COST = 1000;
/**
 * The least an item of a list costs, however few fields it selects: ten plain rows (one seat, one
 * ledger line) cost what one object does. Costed at nothing, a list of plain rows cost 1 however long
 * it was, and 64 aliases of `pointHistory(limit: 1000)` (64,000 rows, 6 MB, seconds of the server's
 * CPU) passed as cost 64; so did lists of them nested inside other lists.
 */
const LIST_ITEM_COST = 0.1;
/**
 * A subscription runs its selection again at every event it sends (every seat change of a schedule,
 * to every subscriber): only the payload's fields and the objects it names, one of each, never a list
 * (a seat map per seat change per subscriber was thousands of SQL statements per second).
 */
const MAX_SUBSCRIPTION_COST = 3;

/** Items in any one list in an operation's variables (the largest list argument, holdIds, needs a handful). */
const MAX_VARIABLE_LIST = 100;
/** Nesting of lists and objects in variables (the deepest input, createConcert's, needs 3). */
const MAX_VARIABLE_DEPTH = 5;

/** Assumed list sizes; a list with a `limit` argument counts that many (at most MAX_LIMIT). */
const LIST_SIZES: Readonly<Record<string, number>> = {
  'Query.concerts': 20,
  'Concert.schedules': 10,
  // Seats cost LIST_ITEM_COST each unless they select objects (Seat.schedule): a seat map reads them in one query.
  'Schedule.seats': 500,
  'User.holds': 10,
  'User.reservations': 50,
  'Payment.reservations': 10,
};
const DEFAULT_LIST_SIZE = 10;
const LIST_SIZE_ARGUMENT = 'limit';
/** The largest `limit` a service accepts (pointHistory); beyond it the service answers BAD_USER_INPUT. */
const MAX_LIMIT = MAX_HISTORY;

/**
 * Parsing stops past this many tokens (GRAPHQL_PARSE_FAILED), over HTTP and WebSocket. Validating a
 * document costs up to quadratic time in its fields (graphql-js's overlapping-fields check): 2,000
 * tokens took ~120 ms of CPU, 1,000 about 30 ms, 400 about 4 ms. The largest document a client of
 * ours sends, the playground's introspection query, has 184.
 */
export const PARSE_OPTIONS = { maxTokens: 1000 } as const;

/** Extra validation rules for HTTP and WebSocket operations (failures are GRAPHQL_VALIDATION_FAILED). */
export function limitRules(): ValidationRule[] {
  return [depth, rootFieldLimit];
}

/**
 * graphql-depth-limit walks the document as the rule starts, before graphql-js has reported unknown
 * or cyclic fragments, and crashes on them (a 500, and a stack trace on stderr). Such a document is
 * invalid anyway: it is left to graphql-js's KnownFragmentNames and NoFragmentCycles, which run alongside.
 */
function depth(context: ValidationContext): ASTVisitor {
  return fragmentsWalkable(context.getDocument()) ? depthLimit(MAX_DEPTH)(context) : {};
}

/** Whether every fragment spread names a fragment of the document and no fragment spreads itself, however indirectly. */
function fragmentsWalkable(document: DocumentNode): boolean {
  const spreads = new Map<string, string[]>();
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const names: string[] = [];
    visit(definition.selectionSet, { FragmentSpread: (node) => void names.push(node.name.value) });
    spreads.set(definition.name.value, names);
  }
  const done = new Set<string>();
  const walkable = (name: string, path: Set<string>): boolean => {
    if (done.has(name)) return true;
    const next = spreads.get(name);
    if (!next || path.has(name)) return false;
    path.add(name);
    const ok = next.every((child) => walkable(child, path));
    path.delete(name);
    if (ok) done.add(name);
    return ok;
  };
  let ok = true;
  visit(document, {
    FragmentSpread: (node) => {
      ok = walkable(node.name.value, new Set());
      return ok ? undefined : BREAK;
    },
  });
  return ok;
}

/**
 * Refuses an operation with more than MAX_ROOT_FIELDS root fields, or more than one that hashes a
 * password (fragments at the root included).
 */
function rootFieldLimit(context: ValidationContext): ASTVisitor {
  const names = (selectionSet: SelectionSetNode, seen: Set<string>): string[] =>
    selectionSet.selections.flatMap((selection) => {
      if (selection.kind === Kind.FIELD) return [selection.name.value];
      if (selection.kind === Kind.INLINE_FRAGMENT) return names(selection.selectionSet, seen);
      const name = selection.name.value;
      const fragment = context.getFragment(name);
      // A cycle is reported by graphql-js's own NoFragmentCycles rule.
      if (!fragment || seen.has(name)) return [];
      return names(fragment.selectionSet, new Set(seen).add(name));
    });
  const refuse = (message: string) => context.reportError(new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
  return {
    OperationDefinition(node: OperationDefinitionNode) {
      const fields = names(node.selectionSet, new Set());
      if (fields.length > MAX_ROOT_FIELDS) refuse(`This operation has ${fields.length} root fields (limit ${MAX_ROOT_FIELDS}): send fewer aliases.`);
      if (fields.filter((field) => PASSWORD_FIELDS.has(field)).length > 1) refuse('At most one signUp or logIn per operation: send each in a request of its own.');
    },
  };
}

const listAwareEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  // Introspection is answered from memory.
  if (isIntrospectionType(type)) return childComplexity;
  const own = isLeafType(getNamedType(field.type)) ? 0 : 1;
  if (!isListType(getNullableType(field.type))) return own + childComplexity;
  const limit: unknown = args[LIST_SIZE_ARGUMENT];
  const size = typeof limit === 'number' ? Math.min(Math.max(limit, 1), MAX_LIMIT) : (LIST_SIZES[`${type.name}.${field.name}`] ?? DEFAULT_LIST_SIZE);
  return own + size * Math.max(childComplexity, LIST_ITEM_COST);
};

interface Costs {
  fields: number;
  cost: number;
}

/**
 * Costs of operations whose cost cannot depend on variables (no directives such as @skip(if: $x),
 * no list size given by a variable): Apollo and the subscription path reuse one parsed document
 * per query text, so each is costed once.
 */
const fixedCosts = new WeakMap<DocumentNode, Map<string, Costs>>();

function dependsOnVariables(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    Directive: () => {
      found = true;
      return BREAK;
    },
    Argument: (node) => {
      if (node.name.value !== LIST_SIZE_ARGUMENT || node.value.kind !== Kind.VARIABLE) return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}

/** The cost check needs the variables, so it runs after validation rather than as a rule. */
export function complexityError(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | null | undefined, operationName?: string | null): GraphQLError | undefined {
  const cached = fixedCosts.get(document)?.get(operationName ?? '');
  let costs: Costs;
  try {
    const measure = (estimator: ComplexityEstimator) => getComplexity({ schema, query: document, variables: variables ?? {}, operationName: operationName ?? undefined, estimators: [estimator] });
    costs = cached ?? { fields: measure(simpleEstimator({ defaultComplexity: 1 })), cost: measure(listAwareEstimator) };
  } catch {
    return undefined; // malformed variables: graphql-js reports them itself with its own code
  }
  if (cached === undefined && !dependsOnVariables(document)) {
    const byName = fixedCosts.get(document) ?? new Map<string, Costs>();
    fixedCosts.set(document, byName.set(operationName ?? '', costs));
  }
  if (costs.fields > MAX_FIELDS) return tooExpensive(`This operation selects ${costs.fields} fields (limit ${MAX_FIELDS}): ask for fewer fields.`);
  // Tenths add up with a float's error (15 × 656 × 0.1 + … came to 1000.0000000000002): rounded off first.
  const cost = Math.ceil(Math.round(costs.cost * 1e6) / 1e6);
  if (cost > MAX_COST) {
    return tooExpensive(`This operation is too expensive (cost ${cost}, limit ${MAX_COST}; each list counts as many items as it may hold): nest fewer lists, or ask for fewer aliases of one.`);
  }
  if (cost > MAX_SUBSCRIPTION_COST && getOperationAST(document, operationName)?.operation === OperationTypeNode.SUBSCRIPTION) {
    return tooExpensive(
      `This subscription is too expensive (cost ${cost}, limit ${MAX_SUBSCRIPTION_COST}): it runs again at every change it sends, so it may select its payload's own fields and the objects they name, but no list. Read lists with a query.`,
    );
  }
  return undefined;
}

/**
 * Bounds the variables before graphql-js coerces them: the body-size limit alone would let one list
 * carry tens of thousands of IDs for a service to look up.
 */
export function variablesError(variables: unknown): GraphQLError | undefined {
  const tooBig = (value: unknown, depth: number): string | undefined => {
    if (value === null || typeof value !== 'object') return undefined;
    if (depth > MAX_VARIABLE_DEPTH) return `Variables nest at most ${MAX_VARIABLE_DEPTH} levels deep.`;
    const items = Array.isArray(value) ? (value as unknown[]) : Object.values(value);
    if (Array.isArray(value) && items.length > MAX_VARIABLE_LIST) return `A list in the variables holds ${items.length} items (limit ${MAX_VARIABLE_LIST}).`;
    for (const item of items) {
      const problem = tooBig(item, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  };
  const problem = tooBig(variables, 0);
  return problem === undefined ? undefined : new GraphQLError(problem, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
}

// Thrown from a plugin hook, an error would be answered with status 500 unless it names its own.
const tooExpensive = (message: string) => new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } });

