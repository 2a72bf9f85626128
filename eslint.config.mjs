import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** The domain: features, their storage and helpers. None of it may know the GraphQL layer. */
const DOMAIN = ['accounts', 'auth', 'concerts', 'holds', 'payments', 'points', 'queue', 'seats', 'redis', 'database', 'entities', 'streams', 'limits', 'inventory', 'caching', 'observability'];

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'src/migrations/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: [`src/{${DOMAIN.join(',')}}/**/*.ts`, 'src/errors.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/schema', '**/schema/**', '**/resolvers', '**/resolvers/**', '**/context', '**/server', '**/app'],
              message: 'Domain code imports nothing from the GraphQL layer (src/schema, src/resolvers, context, server): return a domain type and let the layer map it.',
            },
            {
              group: ['type-graphql', 'graphql', 'graphql/**', 'graphql-ws', 'graphql-ws/**', '@apollo/**', '@graphql-yoga/**'],
              message: 'Domain code does not depend on GraphQL libraries.',
            },
          ],
        },
      ],
    },
  },
);
