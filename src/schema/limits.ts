import {
  BREAK,
  getNamedType,
  getNullableType,
  getOperationAST,
  getVariableValues,
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
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { MAX_HISTORY } from '../points/points-service';
import { LOADED_PER_PARENT } from './item-weight';

/** Deepest sensible operation: me → reservations → seat → schedule → concert → schedules → seats → … */
const MAX_DEPTH = 10;
/** Fields an operation may select, counting each fragment where it is spread. */
const MAX_FIELDS = 500;
/**
 * Fields, fragment spreads and inline fragments, counted as MAX_FIELDS: what the cost walk visits.
 * Spreads and inline fragments select nothing themselves: up to one per field.
 */
const MAX_NODES = 2 * MAX_FIELDS;
/** Root fields (aliases included) per operation: each one is a separate walk of the data. */
const MAX_ROOT_FIELDS = 20;
/**
 * Root fields that hash a password (scrypt: tens of milliseconds of a worker thread and 128 MiB
 * each): one per operation, or twenty aliases would buy twenty hashes for one counted operation.
 */
const PASSWORD_FIELDS = new Set(['signUp', 'logIn']);
/**
 * Estimated work per operation: every field returning an object, or a count read for each parent (LOADED_PER_PARENT), costs 1, other scalars nothing, and a
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
  // The columns of Schedule.seatMap, which is costed as the list of seats (COSTED_AS_LIST): each is a
  // plain field of every item, as a seat's id is in Schedule.seats.
  'SeatMap.ids': 1,
  'SeatMap.prices': 1,
  'SeatMap.statuses': 1,
  'User.holds': 10,
  'User.reservations': 50,
  'Payment.reservations': 10,
};
const DEFAULT_LIST_SIZE = 10;
/**
 * Objects that stand for a list, costed as one of this size: Schedule.seatMap is Schedule.seats in
 * columns, so `seatMap { __typename }` costs what `seats { __typename }` does (costed as an object,
 * a subscription could read a whole map at every event it sent, and a concert list every map of it).
 */
const COSTED_AS_LIST: Readonly<Record<string, number>> = { 'Schedule.seatMap': LIST_SIZES['Schedule.seats'] as number };
/**
 * Lists whose `limit` only ever lowers their assumed size: the concert list unpaged is costed at 20
 * (what it answers is counted as it is read, see request-loaders), and a page of it must not cost
 * more than the whole list: the web app's selection fits 76 concerts a page otherwise, not the 100 allowed.
 */
const LIMIT_LOWERS_ONLY: ReadonlySet<string> = new Set(['Query.concerts']);
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
  return [operationShapeLimit, introspectionAliasLimit];
}

/**
 * Introspection is answered from memory, but not for free: each alias of a field runs it again (20
 * aliases of `__schema` with six of `types` each took 365 ms and answered 343 KB for a 2.7 KB
 * request, so four clients of one address saturated the server well within its rate limit). Without
 * aliases each introspection field runs once per operation (selections of one name merge), which is
 * all a client asks (GraphiQL's query has none). `__typename` may be aliased: it costs nothing.
 */
function introspectionAliasLimit(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      const name = node.name.value;
      if (!node.alias || name === '__typename') return;
      const parent = context.getParentType();
      if (!name.startsWith('__') && !(parent && isIntrospectionType(parent))) return;
      context.reportError(new GraphQLError(`Introspection fields cannot be aliased (${node.alias.value}: ${name}): ask for each once.`, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
    },
  };
}

/** What a selection set amounts to once every fragment is expanded where it is spread. */
interface Shape {
  /** Nested levels of fields; introspection (`__schema`, `__type`) counts as one level, its answer being the schema's own. */
  levels: number;
  /** Fields in all, at every level. */
  fields: number;
  /** Fields, fragment spreads and inline fragments in all: what a walk of the expanded operation visits. */
  nodes: number;
  /** Fields at this level (aliases included). */
  top: number;
  /** Of those, the ones that hash a password. */
  passwords: number;
  /** Of those, `__typename`s (they run nothing). */
  typenames: number;
}

const NO_SHAPE: Shape = { levels: 0, fields: 0, nodes: 0, top: 0, passwords: 0, typenames: 0 };

/**
 * Measures each operation of the document with every fragment counted where it is spread, each
 * fragment measured once: a chain of fragments that each spread the next twice is 2^n fields, and
 * walking it spread by spread took seconds for a few hundred characters, and forever for a thousand.
 * Unknown and cyclic fragments count as nothing here: graphql-js's own rules report them.
 */
function operationShapeLimit(context: ValidationContext): ASTVisitor {
  const fragments = new Map<string, Shape>();
  const measuring = new Set<string>();
  const fragmentShape = (name: string): Shape => {
    const known = fragments.get(name);
    if (known) return known;
    const fragment = context.getFragment(name);
    if (!fragment || measuring.has(name)) return NO_SHAPE;
    measuring.add(name);
    const shape = measure(fragment.selectionSet);
    measuring.delete(name);
    fragments.set(name, shape);
    return shape;
  };
  const measure = (selectionSet: SelectionSetNode): Shape => {
    const total = { ...NO_SHAPE };
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const name = selection.name.value;
        const inner = selection.selectionSet ? measure(selection.selectionSet) : NO_SHAPE;
        total.levels = Math.max(total.levels, 1 + (name.startsWith('__') ? 0 : inner.levels));
        total.fields += 1 + inner.fields;
        total.nodes += 1 + inner.nodes;
        total.top += 1;
        if (PASSWORD_FIELDS.has(name)) total.passwords += 1;
        if (name === '__typename') total.typenames += 1;
        continue;
      }
      const inner = selection.kind === Kind.INLINE_FRAGMENT ? measure(selection.selectionSet) : fragmentShape(selection.name.value);
      total.levels = Math.max(total.levels, inner.levels);
      total.fields += inner.fields;
      total.nodes += 1 + inner.nodes;
      total.top += inner.top;
      total.passwords += inner.passwords;
      total.typenames += inner.typenames;
    }
    return total;
  };
  const refuse = (message: string) => context.reportError(new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }));
  return {
    OperationDefinition(node: OperationDefinitionNode) {
      const shape = measure(node.selectionSet);
      // Root fields are at depth 0.
      if (shape.levels - 1 > MAX_DEPTH) refuse(`'${node.name?.value ?? ''}' exceeds maximum operation depth of ${MAX_DEPTH}`);
      if (shape.fields > MAX_FIELDS) refuse(`This operation selects ${shape.fields} fields (limit ${MAX_FIELDS}): ask for fewer fields.`);
      else if (shape.nodes > MAX_NODES) refuse(`This operation has ${shape.nodes} fields and fragment spreads (limit ${MAX_NODES}): spread fewer fragments.`);
      if (shape.top > MAX_ROOT_FIELDS) refuse(`This operation has ${shape.top} root fields (limit ${MAX_ROOT_FIELDS}): send fewer aliases.`);
      if (shape.passwords > 1) refuse('At most one signUp or logIn per operation: send each in a request of its own.');
      // A refused sign-in (RATE_LIMITED, 429) would answer `data: null` for a mutation beside it that
      // had already run (a charge), which the client would then send again.
      else if (shape.passwords === 1 && shape.top - shape.typenames > 1) refuse('A signUp or logIn runs alone in its operation: send the other fields in a request of their own.');
    },
  };
}

const listAwareEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  // Introspection is answered from memory.
  if (isIntrospectionType(type)) return childComplexity;
  // A count read through a loader for each parent costs what an object does (see LOADED_PER_PARENT).
  const own = isLeafType(getNamedType(field.type)) && field.extensions[LOADED_PER_PARENT] !== true ? 0 : 1;
  const list = `${type.name}.${field.name}`;
  const standsFor = COSTED_AS_LIST[list];
  if (standsFor !== undefined) return own + standsFor * Math.max(childComplexity, LIST_ITEM_COST);
  if (!isListType(getNullableType(field.type))) return own + childComplexity;
  const limit: unknown = args[LIST_SIZE_ARGUMENT];
  const assumed = LIST_SIZES[list] ?? DEFAULT_LIST_SIZE;
  const limited = typeof limit === 'number' ? Math.min(Math.max(limit, 1), MAX_LIMIT) : assumed;
  const size = LIMIT_LOWERS_ONLY.has(list) ? Math.min(limited, assumed) : limited;
  return own + size * Math.max(childComplexity, LIST_ITEM_COST);
};

/**
 * Costs of operations whose cost cannot depend on variables (no directives such as @skip(if: $x),
 * no list size given by a variable): Apollo and the subscription path reuse one parsed document
 * per query text, so each is costed once.
 */
const fixedCosts = new WeakMap<DocumentNode, Map<string, number>>();

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

/**
 * The cost check needs the variables, so it runs after validation rather than as a rule (whose
 * operationShapeLimit keeps the walk short). It refuses what it cannot cost: a limit that lets an
 * operation through when its walk fails is no limit.
 */
export function complexityError(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | null | undefined, operationName?: string | null): GraphQLError | undefined {
  let cost = fixedCosts.get(document)?.get(operationName ?? '');
  if (cost === undefined) {
    const operation = getOperationAST(document, operationName);
    // No such operation, or variables that do not fit it: graphql-js reports them itself, with its own code.
    if (!operation || getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}).errors) return undefined;
    try {
      cost = getComplexity({ schema, query: document, variables: variables ?? {}, operationName: operationName ?? undefined, estimators: [listAwareEstimator] });
    } catch {
      return tooExpensive('This operation could not be costed: ask for fewer fields.');
    }
    if (!dependsOnVariables(document)) {
      const byName = fixedCosts.get(document) ?? new Map<string, number>();
      fixedCosts.set(document, byName.set(operationName ?? '', cost));
    }
  }
  // Tenths add up with a float's error (15 × 656 × 0.1 + … came to 1000.0000000000002): rounded off first.
  const rounded = Math.ceil(Math.round(cost * 1e6) / 1e6);
  if (rounded > MAX_COST) {
    return tooExpensive(`This operation is too expensive (cost ${rounded}, limit ${MAX_COST}; each list counts as many items as it may hold): nest fewer lists, or ask for fewer aliases of one.`);
  }
  if (rounded > MAX_SUBSCRIPTION_COST && getOperationAST(document, operationName)?.operation === OperationTypeNode.SUBSCRIPTION) {
    return tooExpensive(
      `This subscription is too expensive (cost ${rounded}, limit ${MAX_SUBSCRIPTION_COST}): it runs again at every change it sends, so it may select its payload's own fields and the objects they name, but no list. Read lists with a query.`,
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

