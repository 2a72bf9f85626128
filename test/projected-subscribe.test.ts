import { createPubSub } from '@graphql-yoga/subscription';
import { buildSchema, parse, subscribe, type ExecutionArgs, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { DateTimeResolver } from 'graphql-scalars';
import { describe, expect, it } from 'vitest';
import { buildAppSchema } from '../src/schema/build';
import { LatestValueStream } from '../src/queue/latest-value-stream';
import { EVENT_IS_VALUE, isProjected, projectedSubscribe } from '../src/schema/projected-subscribe';
import { STATUS_SUBSCRIPTION } from '../support/operations';

const sdl = `
  scalar DateTime
  enum State { WAITING ACTIVE }
  type Status { id: ID! state: State! position: Int when: DateTime label: String! nested: Inner }
  type Inner { x: Int }
  type Query { ok: Boolean }
  type Subscription { status(id: ID!): Status }
`;

function testSchema(events: unknown[]): GraphQLSchema {
  const schema = buildSchema(sdl);
  Object.assign(schema.getType('DateTime')!, { serialize: DateTimeResolver.serialize });
  const field = schema.getSubscriptionType()!.getFields().status!;
  field.subscribe = async function* () {
    yield* events;
  };
  field.resolve = (payload: unknown, args: { id: string }) => (payload === 'drop' ? null : { ...(payload as object), label: `for ${args.id}` });
  return schema;
}

async function collect(result: ExecutionResult | AsyncIterable<ExecutionResult>): Promise<unknown[]> {
  if (!(Symbol.asyncIterator in result)) return [result];
  const out: ExecutionResult[] = [];
  for await (const event of result) out.push(event);
  // Compare the wire form: same keys in the same order, same errors.
  return out.map((event) => JSON.parse(JSON.stringify(event)) as unknown);
}

const events = [
  { id: 7, state: 'WAITING', position: 3, when: null },
  { id: '7', state: 'ACTIVE', position: null, when: new Date('2026-11-24T10:00:00Z') },
  { id: 7, state: 'NOPE', position: 1, when: null }, // an enum value the schema lacks: graphql-js's error
  { id: null, state: 'WAITING', position: 1, when: null }, // null in a non-null field: graphql-js's error
  { id: 7, state: 'WAITING', position: 1.5, when: null }, // not an Int: graphql-js's error
  'drop', // the resolver returns null
];

describe('projected subscribe', () => {
  const documents = [
    'subscription { status(id: "a") { id state position when label } }',
    'subscription S($id: ID!) { s: status(id: $id) { __typename when p: position id } }',
    'subscription { status(id: "a") { label label } }',
    'subscription { status(id: "a") { ... on Status { id } state } }',
    'subscription { status(id: "a") { id @include(if: false) nested { x } } }',
  ];

  it.each(documents)('gives exactly what graphql-js gives, errors included: %s', async (query) => {
    const args = (schema: GraphQLSchema): ExecutionArgs => ({ schema, document: parse(query), variableValues: { id: 5 }, contextValue: {} });
    const ours = await collect(await projectedSubscribe(args(testSchema(events))));
    const theirs = await collect(await subscribe(args(testSchema(events))));
    expect(ours).toEqual(theirs);
    expect(ours).toHaveLength(events.length);
  });

  it('leaves a custom default field resolver to graphql-js', async () => {
    const fieldResolver = (source: Record<string, unknown>, _args: unknown, _context: unknown, info: { fieldName: string }) => (info.fieldName === 'label' ? 'custom' : source[info.fieldName]);
    const args = (schema: GraphQLSchema): ExecutionArgs => ({ schema, document: parse('subscription { status(id: "a") { id label } }'), fieldResolver });
    const schema = () => {
      const built = testSchema(events.slice(0, 2));
      built.getSubscriptionType()!.getFields().status!.resolve = (payload: object) => ({ ...payload, label: 'from the payload' });
      return built;
    };
    const ours = await collect(await projectedSubscribe(args(schema())));
    expect(ours).toEqual(await collect(await subscribe(args(schema()))));
    expect(ours).toEqual([{ data: { status: { id: '7', label: 'custom' } } }, { data: { status: { id: '7', label: 'custom' } } }]);
  });

  it('closes the source at once when the client completes, while it waits for an event', async () => {
    const schema = testSchema([]);
    let closed = false;
    schema.getSubscriptionType()!.getFields().status!.subscribe = () => {
      const source = new (class extends LatestValueStream<object> {
        protected override onClose(): void {
          closed = true;
        }
      })();
      source.push({ id: 1, state: 'WAITING', position: 1, when: null });
      return source;
    };
    const stream = await projectedSubscribe({ schema, document: parse(documents[0]!) });
    if (!(Symbol.asyncIterator in stream)) throw new Error('expected a stream');
    expect((await stream.next()).value).toEqual({ data: { status: { id: '1', state: 'WAITING', position: 1, when: null, label: 'for a' } } });
    void stream.next();
    await stream.return!();
    expect(closed).toBe(true);
  });

  it('takes the fast path only for flat selections', () => {
    const schema = testSchema([]);
    const projected = documents.map((query) => isProjected({ schema, document: parse(query) }));
    expect(projected).toEqual([true, true, false, false, false]);
  });

  it('plans per schema: one document can be flat in one schema and not in another', () => {
    const document = parse('subscription { status(id: "a") { id label } }');
    const flat = testSchema([]);
    const nested = buildSchema(sdl.replace('label: String!', 'label: Inner'));
    expect(isProjected({ schema: flat, document })).toBe(true);
    expect(isProjected({ schema: nested, document })).toBe(false);
  });

  it('takes the event as the value of a field marked EVENT_IS_VALUE, its resolver left for graphql-js', async () => {
    const labelled = events.filter((event) => event !== 'drop').map((event) => ({ ...(event as object), label: 'as sent' }));
    let resolved = 0;
    const schema = () => {
      const built = testSchema(labelled);
      const field = built.getSubscriptionType()!.getFields().status!;
      field.resolve = (payload: unknown) => {
        resolved++;
        return payload;
      };
      field.extensions = { [EVENT_IS_VALUE]: true };
      return built;
    };
    const args = (built: GraphQLSchema): ExecutionArgs => ({ schema: built, document: parse(documents[0]!), contextValue: {} });
    const theirs = await collect(await subscribe(args(schema())));
    resolved = 0;
    const ours = await collect(await projectedSubscribe(args(schema())));
    expect(ours).toEqual(theirs);
    // Called only by graphql-js, for the three events the fast path cannot answer (see `events`).
    expect(resolved).toBe(3);
  });

  it('takes the fast path for the queueStatus subscription of the real schema, its event as its value', async () => {
    const schema = await buildAppSchema(createPubSub());
    expect(isProjected({ schema, document: parse(STATUS_SUBSCRIPTION) })).toBe(true);
    expect(schema.getSubscriptionType()?.getFields().queueStatus?.extensions[EVENT_IS_VALUE]).toBe(true);
  });
});
