// What the client tests share: the server's address and a fresh user.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';

import { Kind, parse, print, visit } from 'graphql';

export const BASE_URL = process.env.TESSERA_URL ?? 'http://127.0.0.1:8080';
export const GRAPHQL_URL = `${BASE_URL}/graphql`;
export const PASSWORD = 'correct horse battery staple';

/** A unique username (at most 30 characters) with a readable prefix. */
export function uniqueName(prefix) {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}

/** Signs up and signs in a new user with plain fetch; returns its tokens. */
export async function signupAndSignin(prefix) {
  const username = uniqueName(prefix);
  const email = `${username}@example.com`;
  const call = async (query, variables) => {
    const response = await fetch(GRAPHQL_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  };
  const { signup } = await call('mutation($input: SignupInput!) { signup(input: $input) { userErrors { field code } } }', {
    input: { email, username, password: PASSWORD },
  });
  if (signup.userErrors.length > 0) throw new Error(`signup failed: ${JSON.stringify(signup.userErrors)}`);
  const { signin } = await call('mutation($input: SigninInput!) { signin(input: $input) { tokens { accessToken refreshToken } } }', {
    input: { login: username, password: PASSWORD },
  });
  return { username, email, ...signin.tokens };
}

/**
 * The operation in operations/<name>.graphql with the fragments it uses
 * (from operations/fragments.graphql): the same documents codegen types.
 */
export function operation(name) {
  const own = parse(readFileSync(new URL(`../operations/${name}.graphql`, import.meta.url), 'utf8'));
  const fragments = new Map(
    parse(readFileSync(new URL('../operations/fragments.graphql', import.meta.url), 'utf8')).definitions.map((d) => [d.name.value, d]),
  );
  const used = new Map();
  const collect = (node) =>
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        if (!used.has(name)) {
          used.set(name, fragments.get(name));
          collect(fragments.get(name));
        }
      },
    });
  collect(own);
  return print({ kind: Kind.DOCUMENT, definitions: [...own.definitions, ...used.values()] });
}

/** A real PNG (8-bit greyscale, a gradient) of the given size. */
export function png(width, height) {
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 0, 0, 0, 0], 8); // 8 bits, greyscale, deflate, no filter, no interlace
  const rows = [];
  for (let y = 0; y < height; y++) {
    rows.push(Buffer.from([0, ...Array.from({ length: width }, (_, x) => (x * 255) / Math.max(1, width - 1))]));
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Width and height from a PNG's header. */
export function pngSize(bytes) {
  const buffer = Buffer.from(bytes);
  if (buffer.readUInt32BE(12) !== 0x49484452) throw new Error('not a PNG');
  return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
}
