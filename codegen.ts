import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the tests: every graphql(`…`) call in test/**/*.ts is checked against
// schema.graphql and gets result and variable types. Output is generated (npm run codegen,
// run automatically before the tests), never committed.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/generated/**'],
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        scalars: { DateTime: 'string', JSON: 'unknown' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
  // Not silent: with `silent` a document that fails to parse makes codegen exit 1 without a word.
  silent: false,
};

export default config;
