// The built-in pages behind the links in mails, in headless Chromium with no
// network beyond loopback: confirming an email, resetting a password (the
// new one typed twice), a link already used, and an expired link. The links
// are read from the server's JSON log (LOG_FORMAT=json, no SMTP: mail goes
// to files and its links to the log), as a developer without a mail server
// would find them.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import puppeteer from 'puppeteer-core';

import { BASE_URL, GRAPHQL_URL, PASSWORD, signupAndSignin } from './support.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SERVER_LOG = process.env.TESSERA_SERVER_LOG;
const RESET_TTL_SECONDS = Number(process.env.TESSERA_PASSWORD_RESET_TTL_SECONDS ?? '20');
const origin = new URL(BASE_URL).origin;

let browser;
let profileDir;
let expiring; // a reset link asked for first, opened last, once it has expired

async function gql(query, variables, token) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(GRAPHQL_URL, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  const body = await response.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

/** The newest link to `path` in a mail to `email`, from the server's JSON log lines. */
async function linkFor(email, path, count = 1) {
  assert.ok(SERVER_LOG, 'TESSERA_SERVER_LOG names the server log (scripts/test-ecosystem sets it)');
  const deadline = Date.now() + 20_000;
  for (;;) {
    const links = (await readFile(SERVER_LOG, 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line))
      .filter((line) => line.fields?.to === email && typeof line.fields.links === 'string')
      .flatMap((line) => line.fields.links.match(/https?:\/\/[^"\s\]]+/g) ?? [])
      .filter((link) => new URL(link).pathname === `/${path}`);
    if (links.length >= count) return links[links.length - 1];
    if (Date.now() > deadline) throw new Error(`no ${path} link for ${email} in ${SERVER_LOG}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function requestReset(email, count = 1) {
  await gql('mutation($email: String!) { requestPasswordReset(email: $email) { success } }', { email });
  return linkFor(email, 'reset-password', count);
}

async function emailConfirmed(accessToken) {
  return (await gql('{ me { emailConfirmed } }', {}, accessToken)).me.emailConfirmed;
}

before(async () => {
  const user = await signupAndSignin('expiring');
  expiring = { ...user, link: await requestReset(user.email), asked: Date.now() };
  profileDir = await mkdtemp(join(tmpdir(), 'tessera-chromium-'));
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profileDir,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-default-apps',
      '--disable-extensions',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

/** Opens `link`; records requests beyond loopback, CSP violations and errors. */
async function open(link) {
  const page = await browser.newPage();
  const seen = { offsite: [], problems: [] };
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('data:') || new URL(url).origin === origin) {
      request.continue();
    } else {
      seen.offsite.push(url);
      request.abort('blockedbyclient');
    }
  });
  page.on('pageerror', (error) => seen.problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') seen.problems.push(`console error: ${message.text()}`);
  });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations = window.__cspViolations ?? [];
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const response = await page.goto(link, { waitUntil: 'networkidle0' });
  assert.equal(response.status(), 200);
  const csp = response.headers()['content-security-policy'];
  assert.match(csp, /default-src 'none'/);
  assert.doesNotMatch(csp, /unsafe|\*/);
  return { page, seen };
}

async function statusText(page, pattern) {
  await page.waitForFunction(
    (source) => new RegExp(source).test(document.getElementById('status').textContent),
    { timeout: 15_000 },
    pattern.source,
  );
  return page.$eval('#status', (element) => element.textContent);
}

async function closeClean(page, seen) {
  assert.deepEqual(seen.offsite, [], 'the page asked for something beyond loopback');
  assert.deepEqual(await page.evaluate(() => window.__cspViolations ?? []), [], 'the CSP blocked something');
  assert.deepEqual(seen.problems, []);
  await page.close();
}

async function fill(page, password, repeat) {
  await page.$eval('#password', (element) => (element.value = ''));
  await page.$eval('#repeat', (element) => (element.value = ''));
  await page.type('#password', password);
  await page.type('#repeat', repeat);
  await page.click('#save');
}

let confirmLink;

test('the confirmation link opens a page that confirms on a button press, not on opening', async () => {
  const user = await signupAndSignin('pages_confirm');
  confirmLink = await linkFor(user.email, 'confirm-email');
  assert.equal(new URL(confirmLink).origin, origin, 'without APP_URL the link is this server');
  const { page, seen } = await open(confirmLink);
  await page.waitForSelector('#confirm:not([disabled])');
  assert.equal(await emailConfirmed(user.accessToken), false, 'opening the page used nothing');
  await page.click('#confirm');
  const text = await statusText(page, /confirmed/);
  assert.match(text, new RegExp(`${user.email.replace('.', '\\.')} is confirmed`));
  assert.equal(await emailConfirmed(user.accessToken), true);
  await closeClean(page, seen);
});

test('a confirmation link already used says the address is confirmed', async () => {
  assert.ok(confirmLink);
  const { page, seen } = await open(confirmLink);
  await page.click('#confirm');
  assert.match(await statusText(page, /already confirmed/), /This email address is already confirmed\./);
  assert.equal(await page.$eval('#confirm', (button) => button.hidden), true);
  await closeClean(page, seen);
});

test('a confirmation link that no longer works says so', async () => {
  // A newer mail ends the earlier link: resend, then open the first one.
  const user = await signupAndSignin('pages_replaced');
  const first = await linkFor(user.email, 'confirm-email');
  await gql('mutation($email: String!) { resendConfirmationEmail(email: $email) { success } }', { email: user.email });
  const second = await linkFor(user.email, 'confirm-email', 2);
  assert.notEqual(first, second);
  const { page, seen } = await open(first);
  await page.click('#confirm');
  assert.match(await statusText(page, /expired or was already used/), /Ask for a new confirmation email/);
  assert.equal(await emailConfirmed(user.accessToken), false);
  await closeClean(page, seen);
});

let resetLink;

test('the reset link asks for the new password twice and sets it', async () => {
  const user = await signupAndSignin('pages_reset');
  resetLink = await requestReset(user.email);
  const { page, seen } = await open(resetLink);
  await page.waitForSelector('#reset:not([hidden])');
  // Two different entries are caught before anything is sent.
  await fill(page, 'a brand new passphrase', 'a brand new passphrase!');
  assert.match(await statusText(page, /not the same/), /not the same/);
  // The API's own rules come back as its message.
  await fill(page, 'password123', 'password123');
  assert.match(await statusText(page, /too common/), /too common/);
  await fill(page, 'a brand new passphrase', 'a brand new passphrase');
  assert.match(await statusText(page, /password is changed/), /Sign in with the new password/);
  assert.equal(await page.$eval('#reset', (form) => form.hidden), true);
  await closeClean(page, seen);

  const signin = 'mutation($input: SigninInput!) { signin(input: $input) { tokens { accessToken } userErrors { code } } }';
  const fresh = await gql(signin, { input: { login: user.username, password: 'a brand new passphrase' } });
  assert.deepEqual(fresh.signin.userErrors, []);
  const old = await gql(signin, { input: { login: user.username, password: PASSWORD } });
  assert.equal(old.signin.userErrors[0].code, 'INVALID_CREDENTIALS');
});

test('a reset link already used says so and shows no form', async () => {
  assert.ok(resetLink);
  const { page, seen } = await open(resetLink);
  assert.match(await statusText(page, /expired or was already used/), /Ask for a new password-reset email/);
  assert.equal(await page.$eval('#reset', (form) => form.hidden), true);
  await closeClean(page, seen);
});

test('an expired reset link says so and shows no form', async () => {
  const wait = expiring.asked + (RESET_TTL_SECONDS + 1) * 1000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  const { page, seen } = await open(expiring.link);
  assert.match(await statusText(page, /expired or was already used/), /Ask for a new password-reset email/);
  assert.equal(await page.$eval('#reset', (form) => form.hidden), true);
  await closeClean(page, seen);
});
