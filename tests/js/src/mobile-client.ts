// The typed client a mobile app would write on top of the generated
// operations: every call's variables and result are checked by tsc --strict
// against schema.graphql. A schema change that breaks these operations
// breaks this compile.
import { GraphQLClient } from 'graphql-request';

import {
  MeDocument,
  ProfilesDocument,
  RefreshTokensDocument,
  SessionsDocument,
  SigninDocument,
  SignoutDocument,
  SignupDocument,
  UpdateProfileDocument,
  VerifyMfaDocument,
  type Interest,
  type MeQuery,
  type ProfileCardFragment,
  type SecondFactor,
  type SigninMutation,
  type SessionsQuery,
  type SignupInput,
  type TokensFragment,
  type UpdateProfileInput,
  type UserErrorCode,
} from '../generated/operations.js';

export type Tokens = TokensFragment;

/** Problems with what was sent, by field path ("input.password"). */
export type FieldProblems = Map<string, UserErrorCode>;

export type Outcome<T> = { ok: true; value: T } | { ok: false; problems: FieldProblems };

function problems(userErrors: ReadonlyArray<{ field: ReadonlyArray<string> | null; code: UserErrorCode }>): FieldProblems {
  return new Map(userErrors.map((error) => [(error.field ?? []).join('.'), error.code]));
}

export class TesseraClient {
  private tokens: Tokens | null = null;
  /** Set when the last signin owes a second factor: finish with verifyMfa. */
  challenge: SigninMutation['signin']['mfaChallenge'] = null;
  private readonly client: GraphQLClient;

  constructor(endpoint: string) {
    this.client = new GraphQLClient(endpoint, {
      headers: (): Record<string, string> => (this.tokens ? { authorization: `Bearer ${this.tokens.accessToken}` } : {}),
    });
  }

  async signup(input: SignupInput): Promise<Outcome<string>> {
    const { signup } = await this.client.request(SignupDocument, { input });
    return signup.user ? { ok: true, value: signup.user.id } : { ok: false, problems: problems(signup.userErrors) };
  }

  async signin(login: string, password: string): Promise<Outcome<Tokens>> {
    const { signin } = await this.client.request(SigninDocument, { input: { login, password } });
    this.challenge = signin.mfaChallenge;
    if (!signin.tokens) return { ok: false, problems: problems(signin.userErrors) };
    this.tokens = signin.tokens;
    return { ok: true, value: signin.tokens };
  }

  /** The second step of a signin that answered a challenge: a code from the authenticator app. */
  async verifyMfa(code: string): Promise<Outcome<Tokens>> {
    if (!this.challenge) return { ok: false, problems: new Map([['input.challengeToken', 'REQUIRED']]) };
    const { verifyMfa } = await this.client.request(VerifyMfaDocument, { input: { challengeToken: this.challenge.challengeToken, code } });
    if (!verifyMfa.tokens) return { ok: false, problems: problems(verifyMfa.userErrors) };
    this.tokens = verifyMfa.tokens;
    this.challenge = null;
    return { ok: true, value: verifyMfa.tokens };
  }

  /** Trades the refresh token for a new pair; false when the session is over. */
  async refresh(): Promise<boolean> {
    if (!this.tokens) return false;
    const { refreshTokens } = await this.client.request(RefreshTokensDocument, { refreshToken: this.tokens.refreshToken });
    this.tokens = refreshTokens.tokens;
    return refreshTokens.tokens !== null;
  }

  async me(): Promise<MeQuery['me']> {
    return (await this.client.request(MeDocument)).me;
  }

  async updateProfile(input: UpdateProfileInput): Promise<Outcome<ProfileCardFragment>> {
    const { updateProfile } = await this.client.request(UpdateProfileDocument, { input });
    return updateProfile.profile ? { ok: true, value: updateProfile.profile } : { ok: false, problems: problems(updateProfile.userErrors) };
  }

  async setInterests(interests: Interest[]): Promise<Outcome<ProfileCardFragment>> {
    return this.updateProfile({ interests });
  }

  /** Profiles in the order asked; null where a user is not visible. */
  async profiles(userIds: string[]): Promise<Array<{ userId: string; username: string | null; picture: string | null } | null>> {
    const { profiles } = await this.client.request(ProfilesDocument, { userIds });
    return profiles.map((profile) =>
      profile ? { userId: profile.userId, username: profile.user.username, picture: profile.displayPicUrl } : null,
    );
  }

  async sessions(): Promise<SessionsQuery['sessions']> {
    return (await this.client.request(SessionsDocument)).sessions;
  }

  async signout(): Promise<number> {
    const { signout } = await this.client.request(SignoutDocument);
    this.tokens = null;
    return signout.revokedSessions;
  }
}

// The generated types are strict, not merely present: each line below must
// be a type error, or tsc fails on the unused @ts-expect-error.
export async function typeChecks(client: TesseraClient): Promise<void> {
  // @ts-expect-error: an interest is one of the schema's enum values.
  await client.setInterests(['KNITTING']);
  // @ts-expect-error: signup needs a password.
  await client.signup({ email: 'ada@example.com' });
  const me = await client.me();
  // @ts-expect-error: username is nullable in the schema.
  const name: string = me.username;
  // @ts-expect-error: the Me operation does not select phoneNumber.
  void me.phoneNumber;
  void name;
  // @ts-expect-error: a second factor is one of the schema's enum values.
  const factor: SecondFactor = 'SMS';
  void factor;
}
