import {
  createSourceEventStream,
  defaultFieldResolver,
  execute,
  getArgumentValues,
  getVariableValues,
  getNullableType,
  getOperationAST,
  isLeafType,
  isNonNullType,
  isObjectType,
  Kind,
  subscribe,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLField,
  type GraphQLLeafType,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type OperationDefinitionNode,
} from 'graphql';

/** One selected leaf of the event's object: `responseKey: fieldName`, or `__typename`. */
interface Leaf {
  key: string;
  name: string;
  type: GraphQLLeafType | undefined;
  nonNull: boolean;
}

/** What every event of one subscription document needs: the root field and the leaves it selects. */
interface Plan {
  operation: OperationDefinitionNode;
  rootNode: FieldNode;
  rootKey: string;
  rootField: GraphQLField<unknown, unknown>;
  subscriptionType: GraphQLObjectType;
  objectType: GraphQLObjectType;
  leaves: Leaf[];
  /** The root field's value is the event itself (EVENT_IS_VALUE): its resolver need not run per event. */
  eventIsValue: boolean;
}

/**
 * Field extension (type-graphql `@Extensions({ [EVENT_IS_VALUE]: true })`) of a subscription field
 * whose resolver returns its event unchanged. The fast path then takes the event as the field's
 * value: calling type-graphql's resolver converted its arguments anew and made a resolve info, per
 * subscriber per event, for nothing (a fifth of the server's time in a 10,000-subscriber push, after
 * the socket writes). The general path still runs the resolver, so both give the same result.
 */
export const EVENT_IS_VALUE = 'eventIsValue';

type Outcome = Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult>;
type Result = ExecutionResult | Promise<ExecutionResult>;

/** Plans by schema, document (documents are shared through DocumentCache) and operation name. */
const plans = new WeakMap<ExecutionArgs['schema'], WeakMap<ExecutionArgs['document'], Map<string, Plan | null>>>();

/**
 * graphql-js `subscribe`, with a fast path for flat payloads. When the operation's one root field
 * returns an object type and selects only its leaf fields (no fragments, directives or nesting:
 * the queueStatus subscription), each event becomes its result by reading those fields and
 * serializing them, which is what graphql-js execution does there, minus re-coercing variables,
 * collecting fields and walking resolvers per event. With 10,000 subscribers updated per tick, that
 * execution was the largest cost after the socket writes. Any event the fast path cannot answer
 * exactly (a null where the schema forbids one, a value a scalar cannot serialize, a resolver error)
 * goes through graphql-js `execute` instead, so results and errors are graphql-js's own.
 */
export async function projectedSubscribe(args: ExecutionArgs): Outcome {
  // A custom default field resolver would read the leaves its own way: graphql-js then.
  const plan = args.fieldResolver ? undefined : planFor(args);
  // Arguments are read from coerced variables, as graphql-js does; bad variables are its to report.
  const variables = plan && getVariableValues(args.schema, plan.operation.variableDefinitions ?? [], args.variableValues ?? {});
  if (!plan || !variables?.coerced) return subscribe(args);
  const source = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in source)) return source;
  return new ProjectedEvents(plan, args, variables.coerced, source[Symbol.asyncIterator]());
}

const DONE: IteratorResult<ExecutionResult> = { done: true, value: undefined };

const isPromise = (value: unknown): value is Promise<unknown> => typeof (value as Promise<unknown> | undefined)?.then === 'function';

/**
 * One subscription's results. Like graphql-js's own mapAsyncIterator, not an async generator: a
 * generator waiting for the next event cannot be returned until that event comes, and a client's
 * "complete" must close the source (and free its watcher) at once. A class, not closures: tens of
 * thousands of these stay open, and each holds only its fields.
 */
class ProjectedEvents implements AsyncIterableIterator<ExecutionResult> {
  private readonly argumentValues: Record<string, unknown>;

  constructor(
    private readonly plan: Plan,
    private readonly args: ExecutionArgs,
    private readonly variables: Record<string, unknown>,
    private readonly source: AsyncIterator<unknown>,
  ) {
    this.argumentValues = getArgumentValues(plan.rootField, plan.rootNode, variables);
  }

  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.source.next().then((result) => this.step(result));
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    return this.source.return ? this.source.return().then((result) => this.step(result)) : Promise.resolve(DONE);
  }

  async throw(error: unknown): Promise<IteratorResult<ExecutionResult>> {
    if (this.source.throw) return this.step(await this.source.throw(error));
    await this.source.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private step(result: IteratorResult<unknown>): IteratorResult<ExecutionResult> | Promise<IteratorResult<ExecutionResult>> {
    if (result.done) return DONE;
    const value = this.project(result.value);
    return isPromise(value) ? value.then((settled) => ({ done: false, value: settled })) : { done: false, value };
  }

  /** Synchronous unless the root resolver is: each await is a microtask hop per subscriber per tick. */
  private project(payload: unknown): Result {
    const { plan, args } = this;
    const resolve = plan.rootField.resolve ?? defaultFieldResolver;
    try {
      const value: unknown = plan.eventIsValue ? payload : resolve(payload, this.argumentValues, args.contextValue, this.info(payload));
      return isPromise(value) ? value.then((settled) => this.complete(payload, settled), () => this.general(payload)) : this.complete(payload, value);
    } catch {
      // graphql-js reports it exactly as it would have
      return this.general(payload);
    }
  }

  private complete(payload: unknown, value: unknown): Result {
    const data = projectObject(this.plan, value);
    return data ? { data: { [this.plan.rootKey]: data } } : this.general(payload);
  }

  private general(payload: unknown): Result {
    return execute({ ...this.args, rootValue: payload });
  }

  /** Made per event rather than kept: resolvers rarely read it, and memory per subscriber counts. */
  private info(rootValue: unknown): GraphQLResolveInfo {
    const { plan, args } = this;
    return {
      fieldName: plan.rootField.name,
      fieldNodes: [plan.rootNode],
      returnType: plan.rootField.type,
      parentType: plan.subscriptionType,
      path: { prev: undefined, key: plan.rootKey, typename: plan.subscriptionType.name },
      schema: args.schema,
      fragments: {},
      rootValue,
      operation: plan.operation,
      variableValues: this.variables,
    };
  }
}

/** The leaves of `value`, or undefined when only graphql-js can say what the result is. */
function projectObject(plan: Plan, value: unknown): Record<string, unknown> | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const source = value as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const leaf of plan.leaves) {
    if (!leaf.type) {
      result[leaf.key] = plan.objectType.name;
      continue;
    }
    const raw = source[leaf.name];
    if (typeof raw === 'function') return undefined;
    if (raw === null || raw === undefined) {
      if (leaf.nonNull) return undefined;
      result[leaf.key] = null;
      continue;
    }
    const serialized = leaf.type.serialize(raw);
    if (serialized === undefined) return undefined;
    result[leaf.key] = serialized;
  }
  return result;
}

/** Whether events of this subscription take the fast path (the tests hold the app's own to it). */
export function isProjected(args: ExecutionArgs): boolean {
  return planFor(args) !== undefined;
}

function planFor(args: ExecutionArgs): Plan | undefined {
  const key = args.operationName ?? '';
  let byDocument = plans.get(args.schema);
  if (!byDocument) {
    byDocument = new WeakMap();
    plans.set(args.schema, byDocument);
  }
  let byName = byDocument.get(args.document);
  if (!byName) {
    byName = new Map();
    byDocument.set(args.document, byName);
  }
  let plan = byName.get(key);
  if (plan === undefined) {
    plan = makePlan(args) ?? null;
    byName.set(key, plan);
  }
  return plan ?? undefined;
}

function makePlan({ schema, document, operationName }: ExecutionArgs): Plan | undefined {
  const operation = getOperationAST(document, operationName);
  const subscriptionType = schema.getSubscriptionType();
  if (!operation || operation.operation !== 'subscription' || !subscriptionType || operation.directives?.length) return undefined;
  const [rootNode, ...others] = operation.selectionSet.selections;
  if (!rootNode || others.length > 0 || rootNode.kind !== Kind.FIELD || rootNode.directives?.length || !rootNode.selectionSet) return undefined;
  const rootField = subscriptionType.getFields()[rootNode.name.value];
  const objectType = rootField && getNullableType(rootField.type);
  // isTypeOf would need a resolve info per event: such types take the general path.
  if (!rootField || !isObjectType(objectType) || objectType.isTypeOf) return undefined;
  const fields = objectType.getFields();
  const leaves: Leaf[] = [];
  const keys = new Set<string>();
  for (const node of rootNode.selectionSet.selections) {
    if (node.kind !== Kind.FIELD || node.directives?.length || node.arguments?.length || node.selectionSet) return undefined;
    const key = node.alias?.value ?? node.name.value;
    // A repeated response key merges selections in graphql-js: leave that to it.
    if (keys.has(key)) return undefined;
    keys.add(key);
    if (node.name.value === '__typename') {
      leaves.push({ key, name: '__typename', type: undefined, nonNull: true });
      continue;
    }
    const field = fields[node.name.value];
    const type = field && getNullableType(field.type);
    if (!field || field.resolve || !type || !isLeafType(type)) return undefined;
    leaves.push({ key, name: field.name, type, nonNull: isNonNullType(field.type) });
  }
  return {
    operation,
    rootNode,
    rootKey: rootNode.alias?.value ?? rootNode.name.value,
    rootField,
    subscriptionType,
    objectType,
    leaves,
    eventIsValue: rootField.extensions[EVENT_IS_VALUE] === true,
  };
}
