import {
  getDirectiveValues,
  getNamedType,
  getNullableType,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  isListType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentSpreadNode,
  type GraphQLObjectType,
  type GraphQLResolveInfo,
  type InlineFragmentNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * What resolving one field once per item costs, in plain fields, when it is an object or a value read
 * through a loader (LOADED_PER_PARENT): a seat map of 50,000 seats took 0.25 s with its four plain
 * fields, 1 s with each seat naming its schedule, 2.8 s with the schedule's availableSeats too (a
 * field resolver, a loader call and, for an object, a graphql-js object per seat); 10,000 schedules
 * each naming their concert and its schedules took 1.1 s (about 50 µs an object, a plain field 1 µs).
 */
export const RESOLVED_FIELD_WEIGHT = 50;

/** The extension (type-graphql's @Extensions) marking a scalar field read through a loader for each parent: it weighs what an object does. */
export const LOADED_PER_PARENT = 'loadedPerParent';

/**
 * How many plain fields resolving one item of the list a resolver answers is worth, to count against
 * the operation's allowance (RequestLoaders): every field selected under it, aliases and repeats
 * included, 1 each, or RESOLVED_FIELD_WEIGHT for an object (plus what is selected in it) or a field
 * marked LOADED_PER_PARENT. A list inside an item counts as one object here: its own items are counted
 * where they are answered. Fields that @skip or @include leave out count nothing. At least 1.
 */
export function weightPerItem(info: GraphQLResolveInfo): number {
  const itemType = getNamedType(info.returnType);
  if (!isObjectType(itemType)) return 1;
  let weight = 0;
  for (const node of info.fieldNodes) if (node.selectionSet) weight += weightOf(itemType, node.selectionSet, info);
  return Math.max(1, weight);
}

function weightOf(type: GraphQLObjectType, selectionSet: SelectionSetNode, info: GraphQLResolveInfo): number {
  let weight = 0;
  for (const selection of selectionSet.selections) {
    if (!included(selection, info)) continue;
    if (selection.kind === Kind.FIELD) {
      const field = type.getFields()[selection.name.value];
      if (!field) {
        // __typename: a plain field.
        weight += 1;
        continue;
      }
      const named = getNamedType(field.type);
      if (!isObjectType(named)) weight += field.extensions[LOADED_PER_PARENT] === true ? RESOLVED_FIELD_WEIGHT : 1;
      else weight += RESOLVED_FIELD_WEIGHT + (!isListType(getNullableType(field.type)) && selection.selectionSet ? weightOf(named, selection.selectionSet, info) : 0);
    } else {
      // Fragments on the item's own type (the schema has no interfaces or unions); validation has refused unknown ones.
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : info.fragments[selection.name.value]?.selectionSet;
      if (fragment) weight += weightOf(type, fragment, info);
    }
  }
  return weight;
}

/** Whether @skip and @include (with the operation's variables) keep this selection, as graphql-js decides. */
function included(node: FieldNode | FragmentSpreadNode | InlineFragmentNode, info: GraphQLResolveInfo): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.if !== false;
}
