// Another service verifies Tessera's access tokens with npm's `jose`, finding
// the keys through the discovery document and the JWKS alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { calculateJwkThumbprint, createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

import { BASE_URL, signupAndSignin } from './support.mjs';

async function discovery() {
  const response = await fetch(`${BASE_URL}/.well-known/openid-configuration`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('cache-control') ?? '', /max-age=300/);
  return response.json();
}

test('jose: createRemoteJWKSet + jwtVerify accept an access token, pinning issuer, audience and EdDSA', async () => {
  const config = await discovery();
  assert.equal(config.issuer, BASE_URL);
  assert.deepEqual(config.id_token_signing_alg_values_supported, ['EdDSA']);
  const { accessToken } = await signupAndSignin('jose');
  const JWKS = createRemoteJWKSet(new URL(config.jwks_uri));
  const { payload, protectedHeader } = await jwtVerify(accessToken, JWKS, {
    issuer: config.issuer,
    audience: 'tessera-api',
    algorithms: ['EdDSA'],
    typ: 'at+jwt',
  });
  assert.equal(typeof payload.sub, 'string');
  assert.equal(payload.iss, BASE_URL);
  // The kid is the key's RFC 7638 thumbprint.
  const jwks = await (await fetch(config.jwks_uri)).json();
  const jwk = jwks.keys.find((k) => k.kid === protectedHeader.kid);
  assert.ok(jwk, `kid ${protectedHeader.kid} is published`);
  assert.equal(await calculateJwkThumbprint(jwk, 'sha256'), protectedHeader.kid);
});

test('jose: a wrong audience, a wrong issuer and a tampered token are refused', async () => {
  const config = await discovery();
  const { accessToken } = await signupAndSignin('jose_neg');
  const JWKS = createRemoteJWKSet(new URL(config.jwks_uri));
  await assert.rejects(jwtVerify(accessToken, JWKS, { issuer: config.issuer, audience: 'another-api' }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  await assert.rejects(jwtVerify(accessToken, JWKS, { issuer: 'https://evil.example', audience: 'tessera-api' }), { code: 'ERR_JWT_CLAIM_VALIDATION_FAILED' });
  const [header, payload, signature] = accessToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url'));
  claims.sub = 'someone-else';
  const tampered = [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
  assert.equal(decodeProtectedHeader(tampered).alg, 'EdDSA');
  await assert.rejects(jwtVerify(tampered, JWKS, { issuer: config.issuer, audience: 'tessera-api' }), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
});
