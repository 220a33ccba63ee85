// Real GraphQL clients against a running Tessera: graphql-request for the
// account flow, Apollo Client with apollo-upload-client for a display
// picture sent by the multipart request spec.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApolloClient, InMemoryCache, gql } from '@apollo/client';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';
import { ClientError, GraphQLClient } from 'graphql-request';

import { GRAPHQL_URL, PASSWORD, operation, png, pngSize, signupAndSignin, uniqueName } from './support.mjs';

const authed = (token) => new GraphQLClient(GRAPHQL_URL, { headers: { authorization: `Bearer ${token}` } });

/** The error a graphql-request call failed with. */
async function clientError(promise) {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ClientError, `not a ClientError: ${error}`);
    return error;
  }
  assert.fail('the request succeeded');
}

test('graphql-request: signup, signin, me, updateProfile, refresh, sessions, signout', async () => {
  const anonymous = new GraphQLClient(GRAPHQL_URL);
  const username = uniqueName('gqlreq');
  const email = `${username}@example.com`;

  const { signup } = await anonymous.request(operation('signup'), {
    input: { email, username, password: PASSWORD, accountType: 'CREATOR' },
  });
  assert.deepEqual(signup.userErrors, []);
  assert.equal(signup.user.username, username);
  assert.equal(signup.user.accountType, 'CREATOR');

  const weak = await anonymous.request(operation('signup'), {
    input: { email: `x${email}`, username: `x${username}`, password: 'short' },
  });
  assert.equal(weak.signup.user, null);
  assert.ok(weak.signup.userErrors.some((e) => e.field.join('.') === 'input.password'), JSON.stringify(weak));

  const { signin } = await anonymous.request(operation('signin'), { input: { login: email, password: PASSWORD } });
  assert.deepEqual(signin.userErrors, []);
  assert.equal(signin.tokens.tokenType, 'Bearer');
  const { accessToken, refreshToken } = signin.tokens;

  const { me } = await authed(accessToken).request(operation('me'));
  assert.equal(me.id, signup.user.id);
  assert.equal(me.email, email);
  assert.equal(me.profile.displayPicUrl, null);

  const { updateProfile } = await authed(accessToken).request(operation('updateProfile'), {
    input: { bio: 'Writes GraphQL clients.', city: 'Lisbon', interests: ['COFFEE', 'RUNNING'], birthDate: '1990-05-17' },
  });
  assert.deepEqual(updateProfile.userErrors, []);
  assert.equal(updateProfile.profile.bio, 'Writes GraphQL clients.');
  assert.deepEqual(updateProfile.profile.interests, ['COFFEE', 'RUNNING']);
  const again = await authed(accessToken).request(operation('me'));
  assert.equal(again.me.profile.city, 'Lisbon');
  assert.equal(again.me.profile.birthDate, '1990-05-17');

  const bad = await authed(accessToken).request(operation('updateProfile'), { input: { bio: 'x'.repeat(5000) } });
  assert.equal(bad.updateProfile.profile, null);
  assert.deepEqual(bad.updateProfile.userErrors.map((e) => e.field.join('.')), ['input.bio']);

  const { profiles } = await authed(accessToken).request(operation('profiles'), { userIds: [me.id] });
  assert.equal(profiles[0].user.username, username);

  const { refreshTokens } = await anonymous.request(operation('refreshTokens'), { refreshToken });
  assert.deepEqual(refreshTokens.userErrors, []);
  const fresh = refreshTokens.tokens.accessToken;
  assert.notEqual(refreshTokens.tokens.refreshToken, refreshToken);
  const { sessions } = await authed(fresh).request(operation('sessions'));
  assert.equal(sessions.length, 1);
  assert.equal(sessions[0].current, true);

  const { signout } = await authed(fresh).request(operation('signout'));
  assert.equal(signout.revokedSessions, 1);

  // Errors reach the client with their codes: a field error (200, data null)...
  const revoked = await clientError(authed(fresh).request(operation('me')));
  assert.equal(revoked.response.status, 200);
  assert.equal(revoked.response.errors[0].extensions.code, 'UNAUTHENTICATED');
  // ...and a request error (graphql-request accepts application/graphql-response+json: 400).
  const invalid = await clientError(anonymous.request('{ me { nope } }'));
  assert.equal(invalid.response.status, 400);
  assert.equal(invalid.response.errors[0].extensions.code, 'GRAPHQL_VALIDATION_FAILED');
});

test('apollo-upload-client: a display picture through the multipart request spec', async () => {
  const { accessToken } = await signupAndSignin('apollo');
  const client = new ApolloClient({
    link: new UploadHttpLink({
      uri: GRAPHQL_URL,
      // Multipart is a "simple" request a browser could forge: Tessera, like
      // Apollo Server, wants this header on it.
      headers: { authorization: `Bearer ${accessToken}`, 'Apollo-Require-Preflight': 'true' },
    }),
    cache: new InMemoryCache(),
  });
  const mutation = gql(operation('updateProfile'));

  const picture = new File([png(64, 48)], 'me.png', { type: 'image/png' });
  const { data } = await client.mutate({ mutation, variables: { input: { displayPic: picture, bio: 'with a face' } } });
  assert.deepEqual(data.updateProfile.userErrors, []);
  const url = data.updateProfile.profile.displayPicUrl;
  assert.match(url, /\/media\/[^/]+\.png$/);
  const served = await fetch(url);
  assert.equal(served.status, 200);
  assert.equal(served.headers.get('content-type'), 'image/png');
  assert.deepEqual(pngSize(await served.arrayBuffer()), { width: 64, height: 48 });

  const notAPicture = new File([Buffer.from('GIF89a not really')], 'me.png', { type: 'image/png' });
  const refused = await client.mutate({ mutation, variables: { input: { displayPic: notAPicture } } });
  assert.deepEqual(refused.data.updateProfile.userErrors.map((e) => e.code), ['UNSUPPORTED_FILE_TYPE']);

  const removed = await client.mutate({ mutation, variables: { input: { displayPic: null } } });
  assert.equal(removed.data.updateProfile.profile.displayPicUrl, null);
  assert.equal((await fetch(url)).status, 404);
});

test('Apollo persisted queries: a hash first, the text once when the server does not know it, GET for queries', async () => {
  const { PersistedQueryLink } = await import('@apollo/client/link/persisted-queries');
  const { HttpLink } = await import('@apollo/client');
  const { createHash } = await import('node:crypto');
  const { accessToken } = await signupAndSignin('apq');
  const sent = [];
  const recordingFetch = async (url, init) => {
    const body = init?.body ? JSON.parse(init.body) : Object.fromEntries(new URL(url).searchParams);
    sent.push({ method: init?.method ?? 'GET', withQuery: Boolean(body.query) });
    return fetch(url, init);
  };
  const newClient = () =>
    new ApolloClient({
      link: new PersistedQueryLink({ sha256: (text) => createHash('sha256').update(text).digest('hex'), useGETForHashedQueries: true }).concat(
        new HttpLink({ uri: GRAPHQL_URL, headers: { authorization: `Bearer ${accessToken}` }, fetch: recordingFetch }),
      ),
      cache: new InMemoryCache(),
    });
  // A query text unique to this run, so that the server cannot know it yet.
  const query = gql(`query ApqMe${uniqueName('q').replace(/[^A-Za-z0-9]/g, '')} { me { id email profile { bio } } }`);

  const first = await newClient().query({ query, fetchPolicy: 'network-only' });
  assert.ok(first.data.me.id);
  assert.deepEqual(
    sent.map((request) => request.withQuery),
    [false, true],
    'the hash alone, then the text once',
  );
  assert.equal(sent[0].method, 'GET');

  sent.length = 0;
  const second = await newClient().query({ query, fetchPolicy: 'network-only' });
  assert.equal(second.data.me.id, first.data.me.id);
  assert.deepEqual(sent, [{ method: 'GET', withQuery: false }], 'the server now knows the hash');

  const mutation = gql(operation('updateProfile'));
  sent.length = 0;
  const updated = await newClient().mutate({ mutation, variables: { input: { bio: 'persisted' } } });
  assert.deepEqual(updated.data.updateProfile.userErrors, []);
  assert.ok(sent.every((request) => request.method === 'POST'), 'mutations stay on POST');
});
