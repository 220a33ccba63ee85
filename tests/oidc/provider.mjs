// A real OpenID Connect provider on loopback for Tessera's social sign-in
// tests: oidc-provider (OpenID Certified) with its development login pages,
// which take any login and password. The API tests start it as a child
// process and read the first stdout line, `READY <issuer>`.
//
// Clients (both accept any redirect URI listed in OIDC_TEST_REDIRECT_URIS):
//   tessera-web: confidential (client_secret_basic), the browser flow; ID tokens RS256.
//   tessera-ios: public (PKCE, no secret), as a mobile SDK; ID tokens ES256.
// Users: the login typed on the login page is the subject (sub). Claims
// come from OIDC_TEST_USERS (JSON: {"sub": {"email": ..., "email_verified": ..., "name": ...}});
// a sub not listed gets <sub>@example.com, verified.
import http from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const redirectUris = (process.env.OIDC_TEST_REDIRECT_URIS || 'http://app.test/oauth/callback').split(',').filter(Boolean);
const users = JSON.parse(process.env.OIDC_TEST_USERS || '{}');
const secret = process.env.OIDC_TEST_CLIENT_SECRET || 'tessera-web-secret';

async function jwk(alg, kid) {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), alg, kid, use: 'sig' };
}

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'tessera-web',
      client_secret: secret,
      redirect_uris: redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    {
      client_id: 'tessera-ios',
      redirect_uris: redirectUris,
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  jwks: { keys: [await jwk('RS256', 'rs-1'), await jwk('ES256', 'es-1')] },
  cookies: { keys: ['tessera-oidc-test-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  // The claims go into the ID token itself, as Google's and Apple's do.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(_ctx, sub) {
    const user = users[sub] || {};
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: user.email ?? `${sub}@example.com`,
          email_verified: user.email_verified ?? true,
          ...(user.name ? { name: user.name } : {}),
        };
      },
    };
  },
});
// Loopback http on purpose: no TLS in tests.
provider.on('server_error', (_ctx, error) => console.error('oidc-provider error:', error));
server.on('request', provider.callback());
console.log(`READY ${issuer}`);

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
// The test's end (its stdin closing) ends the provider too, even if the test crashed.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
