#!/usr/bin/env node
// Send one request signed with scheme rfc9421 of nestjs-service-auth, with the
// off-the-shelf RFC 9421 library http-message-signatures (npm install
// http-message-signatures). The body is bound by a Content-Digest (RFC 9530),
// which that library does not compute, so it is added here.
//
// Usage: API_KEY=... API_SECRET=... node rfc9421-fetch.mjs METHOD URL [BODY]
// Prints the status and the response body. With --dry-run (first argument) it
// prints the headers it would send, as JSON, and sends nothing; SIGN_CREATED
// and SIGN_NONCE then fix the otherwise current time and random nonce.
import { createHash, randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { createSigner, httpbis } from 'http-message-signatures';

export async function signedHeaders({ apiKey, secret, method, url, body, contentType = 'application/json', created, nonce }) {
  const headers = {};
  const fields = ['@method', '@authority', '@path', '@query'];
  if (body?.length) {
    headers['Content-Type'] = contentType;
    headers['Content-Digest'] = `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
    fields.push('content-type', 'content-digest');
  }
  const signed = await httpbis.signMessage(
    {
      // The HMAC key is the UTF-8 bytes of the secret; keyid is the API key.
      key: createSigner(Buffer.from(secret, 'utf8'), 'hmac-sha256', apiKey),
      name: 'sig1',
      fields,
      params: ['created', 'keyid', 'nonce', 'alg'],
      paramValues: {
        created: created === undefined ? new Date() : new Date(created * 1000),
        nonce: nonce ?? randomBytes(16).toString('base64url'),
      },
    },
    { method, url, headers },
  );
  return signed.headers;
}

async function main() {
  const args = process.argv.slice(2);
  const dryRun = args[0] === '--dry-run';
  if (dryRun) args.shift();
  const [method, url, text] = [args[0].toUpperCase(), args[1], args[2]];
  const body = text === undefined ? undefined : Buffer.from(text, 'utf8');
  const headers = await signedHeaders({
    apiKey: process.env.API_KEY,
    secret: process.env.API_SECRET,
    method,
    url,
    body,
    created: process.env.SIGN_CREATED ? Number(process.env.SIGN_CREATED) : undefined,
    nonce: process.env.SIGN_NONCE || undefined,
  });
  if (dryRun) {
    console.log(JSON.stringify(headers));
    return;
  }
  const response = await fetch(url, { method, headers, body });
  console.log(response.status);
  console.log(await response.text());
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
