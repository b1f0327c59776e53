import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents from schema.graphql, generated (npm run codegen, run before the tests, the
// type-check and the web build — so also by `npm install`), never committed:
// - packages/client/src/gql/, packages/cli/src/gql/: @weft/client's and the weft CLI's documents;
// - test/generated/: every graphql(`…`) call in test/**/*.ts gets result and variable types;
// - web/src/gql/: the same for the web app's documents, so a schema change that breaks the
//   monitor fails `npm run typecheck`; plus a minified introspection for urql's graphcache
//   (it needs to know which types implement an interface or belong to a union).
const scalars = { DateTime: 'string', JSON: 'unknown' };
const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': {
      documents: ['test/**/*.ts', '!test/generated/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars, enumsAsTypes: true, useTypeImports: true },
    },
    'web/src/gql/': {
      documents: ['web/src/**/*.{ts,tsx}', '!web/src/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars, enumsAsTypes: true, useTypeImports: true },
    },
    // The TypeScript client package and the CLI built on it: their own documents, typed.
    'packages/client/src/gql/': {
      documents: ['packages/client/src/**/*.ts', '!packages/client/src/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars, enumsAsTypes: true, useTypeImports: true },
    },
    'packages/cli/src/gql/': {
      documents: ['packages/cli/src/**/*.ts', '!packages/cli/src/gql/**'],
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: { scalars, enumsAsTypes: true, useTypeImports: true },
    },
    'web/src/gql/introspection.ts': {
      plugins: ['urql-introspection'],
      config: { module: 'es2015', minify: true, includeScalars: false, useTypeImports: true },
    },
  },
  // Not silent: with `silent` a document that fails to parse makes codegen exit 1 without a word.
  silent: false,
};

export default config;
