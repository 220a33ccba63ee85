// Typed operations for a mobile app, generated from the committed schema
// (no running server needed): typescript-operations makes the result,
// variables and input types itself, typed-document-node wraps each operation
// so that any client that understands TypedDocumentNode is typed by it.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['operations/*.graphql'],
  generates: {
    'generated/operations.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        strictScalars: true,
        scalars: {
          Date: 'string',
          DateTime: 'string',
          JSON: 'unknown',
          Upload: 'File | Blob',
        },
        useTypeImports: true,
      },
    },
  },
};

export default config;
