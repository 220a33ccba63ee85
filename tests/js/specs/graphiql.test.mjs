// GraphiQL in headless Chromium with no network beyond loopback: the page
// renders the editor from Tessera's own assets, runs a query, and sends the
// Authorization header typed into its headers editor.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import puppeteer from 'puppeteer-core';

import { BASE_URL, signupAndSignin } from './support.mjs';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const origin = new URL(BASE_URL).origin;

let browser;
let profileDir;

before(async () => {
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
      // Nothing but loopback resolves: a CDN reference could not load.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
      '--window-size=1280,800',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (profileDir) await rm(profileDir, { recursive: true, force: true });
});

/** A page that may reach Tessera only; everything else is refused and recorded. */
async function openGraphiQL() {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const offsite = [];
  const problems = [];
  await page.setRequestInterception(true);
  page.on('request', (request) => {
    const url = request.url();
    if (url.startsWith('data:') || new URL(url).origin === origin) {
      request.continue();
    } else {
      offsite.push(url);
      request.abort('blockedbyclient');
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()} for ${response.url()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  await page.evaluateOnNewDocument(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations = window.__cspViolations ?? [];
      window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  const response = await page.goto(`${BASE_URL}/graphql`, { waitUntil: 'networkidle0' });
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'], /default-src 'none'/);
  await page.waitForSelector('.graphiql-container .graphiql-query-editor .CodeMirror', { timeout: 20_000 });
  return { page, offsite, problems };
}

/** The text of the CodeMirror editor inside `selector`. */
function editorValue(page, selector) {
  return page.$eval(`${selector} .CodeMirror`, (element) => element.CodeMirror.getValue());
}

async function run(page, query) {
  await page.$eval('.graphiql-query-editor .CodeMirror', (element, text) => element.CodeMirror.setValue(text), query);
  await page.click('.graphiql-execute-button');
}

async function waitForResult(page, text) {
  await page.waitForFunction(
    (wanted) => document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue().includes(wanted),
    { timeout: 20_000 },
    text,
  );
  return editorValue(page, '.graphiql-response');
}

test('GraphiQL renders from local assets and runs a query', async () => {
  const { page, offsite, problems } = await openGraphiQL();
  await run(page, '{ __typename }');
  const result = JSON.parse(await waitForResult(page, '__typename'));
  assert.deepEqual(result, { data: { __typename: 'Query' } });

  // The schema was introspected, so the docs explorer knows the types.
  await page.click('.graphiql-sidebar button[aria-label="Show Documentation Explorer"]');
  await page.waitForFunction(() => document.querySelector('.graphiql-doc-explorer')?.innerText.includes('Query'), { timeout: 10_000 });

  // Its dialogs work under the page's Content-Security-Policy.
  await page.click('.graphiql-sidebar button[aria-label="Open settings dialog"]');
  await page.waitForSelector('.graphiql-dialog', { visible: true });
  await page.keyboard.press('Escape');
  await page.waitForSelector('.graphiql-dialog', { hidden: true });

  if (process.env.GRAPHIQL_SCREENSHOT) await page.screenshot({ path: process.env.GRAPHIQL_SCREENSHOT });
  assert.deepEqual(offsite, [], 'the page asked for something beyond loopback');
  assert.deepEqual(await page.evaluate(() => window.__cspViolations ?? []), [], 'the CSP blocked something');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the Authorization header is editable and sent', async () => {
  const { accessToken, username } = await signupAndSignin('graphiql');
  const { page, offsite, problems } = await openGraphiQL();
  // The headers editor is open, with the template in it.
  await page.waitForSelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror', { visible: true });
  const template = JSON.parse(await editorValue(page, '.graphiql-editor-tool .graphiql-editor:not(.hidden)'));
  assert.deepEqual(template, { Authorization: 'Bearer <token>' });

  // Anonymous first: the placeholder is not sent.
  await run(page, '{ me { username } }');
  assert.match(await waitForResult(page, 'UNAUTHENTICATED'), /UNAUTHENTICATED/);

  await page.$eval(
    '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror',
    (element, token) => element.CodeMirror.setValue(JSON.stringify({ Authorization: `Bearer ${token}` })),
    accessToken,
  );
  await run(page, '{ me { username } }');
  const result = JSON.parse(await waitForResult(page, username));
  assert.deepEqual(result, { data: { me: { username } } });
  assert.deepEqual(offsite, []);
  assert.deepEqual(await page.evaluate(() => window.__cspViolations ?? []), []);
  assert.deepEqual(problems, []);
  await page.close();
});
