// Passkeys in a real browser: headless Chromium with a DevTools virtual
// authenticator (a platform passkey provider with user verification) opens a
// small page on http://localhost:PAGE_PORT (an origin the server's
// WEBAUTHN_ORIGINS and CORS_ALLOWED_ORIGINS allow; scripts/test-ecosystem
// sets them) that calls the GraphQL API: it registers a passkey, then signs
// in with it alone, without and with a login.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import puppeteer from 'puppeteer-core';

import { GRAPHQL_URL, PASSWORD, signupAndSignin } from './support.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const PAGE_PORT = Number(process.env.PASSKEY_PAGE_PORT ?? 0);
const PAGE_ORIGIN = `http://localhost:${PAGE_PORT}`;

// The page a frontend would have: the WebAuthn JSON helpers of the browser
// and nothing else (no library), talking to the API across origins.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Tessera passkeys</title></head>
<body><input id="login" autocomplete="username webauthn"><script>
const API = ${JSON.stringify(GRAPHQL_URL)};
async function gql(query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = 'Bearer ' + token;
  const response = await fetch(API, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
window.registerPasskey = async (token, name) => {
  const { startPasskeyRegistration: start } = await gql(
    'mutation { startPasskeyRegistration { ceremonyId options userErrors { code message } } }', {}, token);
  if (start.userErrors.length) return { start };
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(start.options);
  const credential = await navigator.credentials.create({ publicKey });
  const { finishPasskeyRegistration } = await gql(
    'mutation($input: FinishPasskeyRegistrationInput!) { finishPasskeyRegistration(input: $input) { passkey { id name } userErrors { field code message } } }',
    { input: { ceremonyId: start.ceremonyId, name, credential: credential.toJSON() } }, token);
  return finishPasskeyRegistration;
};
window.signInWithPasskey = async (login) => {
  const { startPasskeySignin: start } = await gql(
    'mutation($login: String) { startPasskeySignin(login: $login) { ceremonyId options userErrors { code message } } }', { login });
  if (start.userErrors.length) return { start };
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(start.options);
  const credential = await navigator.credentials.get({ publicKey });
  const { finishPasskeySignin } = await gql(
    'mutation($input: FinishPasskeySigninInput!) { finishPasskeySignin(input: $input) { tokens { accessToken } user { username } mfaChallenge { factors } userErrors { field code message } } }',
    { input: { ceremonyId: start.ceremonyId, credential: credential.toJSON() } });
  return finishPasskeySignin;
};
</script></body></html>`;

let server;
let browser;
let profileDir;

before(async () => {
  assert.ok(PAGE_PORT > 0, 'PASSKEY_PAGE_PORT must name the port WEBAUTHN_ORIGINS allows (scripts/test-ecosystem sets it)');
  server = http.createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(PAGE);
  });
  await new Promise((resolve) => server.listen(PAGE_PORT, '127.0.0.1', resolve));
  profileDir = await mkdtemp(join(tmpdir(), 'tessera-passkeys-'));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profileDir,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-extensions'],
  });
});

after(async () => {
  await browser?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
});

async function call(query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(GRAPHQL_URL, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return response.json();
}

test('Chromium registers a passkey and signs in with it alone', async () => {
  const { accessToken, username } = await signupAndSignin('passkey');
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.goto(PAGE_ORIGIN);
  assert.equal(await page.evaluate(() => window.isSecureContext), true, 'localhost is a secure context');

  const cdp = await page.createCDPSession();
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  const registered = await page.evaluate((token) => window.registerPasskey(token, 'Chromium'), accessToken);
  assert.deepEqual(registered.userErrors, [], JSON.stringify(registered));
  assert.equal(registered.passkey.name, 'Chromium');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  assert.equal(credentials[0].rpId, 'localhost');
  assert.equal(credentials[0].isResidentCredential, true, 'a discoverable credential, for signin without a login');

  // The password alone is not enough any more: the passkey is a second factor.
  const withPassword = await call(
    'mutation($input: SigninInput!) { signin(input: $input) { tokens { accessToken } mfaChallenge { factors } } }',
    { input: { login: username, password: PASSWORD } },
  );
  assert.equal(withPassword.data.signin.tokens, null);
  assert.deepEqual(withPassword.data.signin.mfaChallenge.factors, ['PASSKEY']);

  // The passkey alone signs in: without a login (discoverable), then with one.
  for (const login of [null, username]) {
    const signed = await page.evaluate((l) => window.signInWithPasskey(l), login);
    assert.deepEqual(signed.userErrors, [], JSON.stringify(signed));
    assert.equal(signed.user.username, username);
    assert.equal(signed.mfaChallenge, null);
    const sessions = await call('{ sessions { current assuranceLevel } }', {}, signed.tokens.accessToken);
    assert.deepEqual(
      sessions.data.sessions.filter((s) => s.current),
      [{ current: true, assuranceLevel: 'AAL2' }],
    );
  }
  const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(after.credentials[0].signCount, 3, 'one signature per ceremony');
  assert.deepEqual(problems, []);
  await page.close();
});
