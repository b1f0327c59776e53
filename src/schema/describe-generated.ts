// Plugins generate some types (connections, edges, PageInfo, Node, result unions) whose
// descriptions cannot all be set through options. schema.graphql is our documentation and a
// test insists every type and field is described, so fill in the generic ones here, after
// the schema is built. Hand-written descriptions are never overwritten.
import { GraphQLInterfaceType, GraphQLObjectType, GraphQLUnionType, type GraphQLSchema } from 'graphql';

const FIELD_DESCRIPTIONS: Record<string, string> = {
  edges: 'The edges of this page, in order.',
  pageInfo: 'Cursors and flags for fetching the next or previous page.',
  totalCount: 'Total number of items matching the query, across all pages.',
  cursor: 'Opaque cursor of this edge; pass it as `after` or `before`.',
  node: 'The item at the end of this edge.',
  id: 'Globally unique ID (see the `node` query).',
  hasNextPage: 'Whether there are more items after this page.',
  hasPreviousPage: 'Whether there are more items before this page.',
  startCursor: 'Cursor of the first item of this page.',
  endCursor: 'Cursor of the last item of this page.',
};

export function describeGeneratedTypes(schema: GraphQLSchema): GraphQLSchema {
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (!type.description) {
      if (type.name === 'PageInfo') type.description = 'Relay pagination information for a connection page.';
      else if (type.name === 'Node') type.description = 'An object with a global ID, fetchable with the `node` query.';
      else if (type.name.endsWith('ConnectionEdge'))
        type.description = `An edge of ${type.name.replace(/Edge$/, '')}: a cursor and an item.`;
      else if (type.name.endsWith('Connection'))
        type.description = 'A page of items (Relay cursor connection, at most 200 per page).';
      else if (type instanceof GraphQLUnionType && type.name.endsWith('Result')) {
        type.description =
          'The outcome of a mutation: its payload on success, otherwise one of the typed errors (all implement `Error`).';
      }
    }
    if (type instanceof GraphQLObjectType || type instanceof GraphQLInterfaceType) {
      for (const field of Object.values(type.getFields())) {
        if (!field.description && FIELD_DESCRIPTIONS[field.name]) field.description = FIELD_DESCRIPTIONS[field.name];
      }
    }
  }
  return schema;
}
