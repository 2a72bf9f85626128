import { getNamedType, getNullableType, isListType, isObjectType, Kind, type GraphQLObjectType, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/**
 * What one object resolved under each item of a list costs, in items: a seat map of 50,000 seats took
 * 0.25 s plain, 1 s with each seat naming its schedule, 2.8 s with the schedule's availableSeats too
 * (a field resolver, a loader call and a graphql-js object per seat, where a plain seat is a row).
 */
export const NESTED_OBJECT_WEIGHT = 10;

/**
 * What each item of the list a resolver answers counts against the operation's allowance
 * (RequestLoaders): 1, plus NESTED_OBJECT_WEIGHT for every object field selected under it
 * (Seat.schedule, Schedule.concert inside that), each resolved once per item. A list selected inside
 * an item counts as one object here: its own items are counted where they are answered. Fields
 * selected twice count twice.
 */
export function weightPerItem(info: GraphQLResolveInfo): number {
  const itemType = getNamedType(info.returnType);
  if (!isObjectType(itemType)) return 1;
  let objects = 0;
  for (const node of info.fieldNodes) if (node.selectionSet) objects += objectsUnder(itemType, node.selectionSet, info);
  return 1 + NESTED_OBJECT_WEIGHT * objects;
}

function objectsUnder(type: GraphQLObjectType, selectionSet: SelectionSetNode, info: GraphQLResolveInfo): number {
  let objects = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      const field = type.getFields()[selection.name.value];
      if (!field || !selection.selectionSet) continue;
      objects += 1;
      const named = getNamedType(field.type);
      if (!isListType(getNullableType(field.type)) && isObjectType(named)) objects += objectsUnder(named, selection.selectionSet, info);
    } else {
      // Fragments on the item's own type (the schema has no interfaces or unions); validation has refused unknown ones.
      const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection.selectionSet : info.fragments[selection.name.value]?.selectionSet;
      if (fragment) objects += objectsUnder(type, fragment, info);
    }
  }
  return objects;
}
