import {
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  type GraphQLField,
  type GraphQLInputType,
  type IntrospectionQuery,
} from 'graphql';
import type { Api } from '../../support/graphql-client';

/** One root field of the served schema as a runnable operation, with well-formed variables. */
export interface RootOperation {
  kind: 'query' | 'mutation' | 'subscription';
  field: string;
  query: string;
  variables: Record<string, unknown>;
}

/**
 * A plausible value of an input type: what a client could send, so that a refusal comes from who
 * sends it, not from what. Nullable input fields are left out; non-null ones get a value each.
 */
function sampleValue(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return sampleValue(type.ofType);
  if (isListType(type)) return [sampleValue(type.ofType)];
  if (isEnumType(type)) return type.getValues()[0]?.value;
  if (isInputObjectType(type)) {
    const fields = Object.values(type.getFields()).filter((field) => isNonNullType(field.type));
    return Object.fromEntries(fields.map((field) => [field.name, sampleValue(field.type)]));
  }
  switch (type.name) {
    case 'ID':
      return '1';
    case 'Int':
    case 'Float':
      return 1;
    case 'Boolean':
      return true;
    case 'DateTime':
      return new Date(Date.now() + 86_400_000).toISOString();
    default:
      return 'sample-text';
  }
}

function operationOf(kind: RootOperation['kind'], field: GraphQLField<unknown, unknown>): RootOperation {
  const declared = field.args.map((arg) => `$${arg.name}: ${String(arg.type)}`);
  const passed = field.args.map((arg) => `${arg.name}: $${arg.name}`);
  const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
  return {
    kind,
    field: field.name,
    query: `${kind}${declared.length ? `(${declared.join(', ')})` : ''} { ${field.name}${passed.length ? `(${passed.join(', ')})` : ''}${selection} }`,
    variables: Object.fromEntries(field.args.map((arg) => [arg.name, sampleValue(arg.type)])),
  };
}

/** Every root field the server serves (by introspection, so a field added later is in the list too). */
export async function everyRootOperation(api: Api): Promise<RootOperation[]> {
  const schema = buildClientSchema((await api.data<IntrospectionQuery>(getIntrospectionQuery())) as IntrospectionQuery);
  const roots = [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ] as const;
  return roots.flatMap(([kind, type]) => Object.values(type?.getFields() ?? {}).map((field) => operationOf(kind, field)));
}
