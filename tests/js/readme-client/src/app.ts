// A small app as a frontend team would write it, typed by the README's
// codegen.ts (client-preset): scripts/test-ecosystem copies that file and
// schema.graphql here, generates src/gql/, and compiles with tsc --strict.
// With an unmapped scalar, codegen fails (strictScalars); with a wrong
// mapping, the assignments below do not compile.
import type { ResultOf, VariablesOf } from '@graphql-typed-document-node/core';

import { graphql } from './gql';

export const MeQuery = graphql(`
  query Me {
    me {
      id
      joinedAt
      profile {
        birthDate
        displayPicUrl
      }
    }
  }
`);

export const UpdatePictureMutation = graphql(`
  mutation UpdatePicture($pic: Upload) {
    updateProfile(input: { displayPic: $pic }) {
      profile {
        displayPicUrl
      }
      userErrors {
        field
        message
        code
      }
    }
  }
`);

type Me = ResultOf<typeof MeQuery>;

// DateTime and Date arrive as strings.
export const joinedAt = (result: Me): string => result.me.joinedAt;
export const birthDate = (result: Me): string | null | undefined => result.me.profile.birthDate;

// An Upload variable takes a File or a Blob.
export const withBlob: VariablesOf<typeof UpdatePictureMutation> = { pic: new Blob([new Uint8Array([137, 80, 78, 71])], { type: 'image/png' }) };
export const withFile: VariablesOf<typeof UpdatePictureMutation> = { pic: new File([], 'me.png', { type: 'image/png' }) };
export const removing: VariablesOf<typeof UpdatePictureMutation> = { pic: null };
