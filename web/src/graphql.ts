import { initGraphQLTada } from 'gql.tada';
import type { introspection } from './graphql-env.d.ts';

/**
 * GraphQL documents typed from the repository's schema.graphql (the served schema): graphql-env.d.ts
 * is generated from it by `gql.tada generate-output` (run by `npm run build`, `npm run lint` and
 * `npm run schema`), so a schema change that breaks a query here breaks `tsc -p web/tsconfig.json`.
 */
export const graphql = initGraphQLTada<{
  introspection: introspection;
  scalars: { DateTime: string; ID: string };
}>();

export type { ResultOf, VariablesOf } from 'gql.tada';
