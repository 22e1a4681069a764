import { readFileSync } from 'node:fs';

/** One scheme-v0 case of the shared protocol vectors. */
export interface V0Vector {
  apiKey: string;
  timestamp: string;
  secret: string;
  stringToSign: string;
  signature: string;
}

/** One scheme-v1 case. `method` and `host` are given as sent (not normalized). */
export interface V1Vector {
  secret: string;
  apiKey: string;
  timestamp: string;
  nonce: string;
  method: string;
  host: string;
  target: string;
  /** The Content-Type header as sent; empty: none. */
  contentType: string;
  bodyBase64: string;
  stringToSign: string;
  signature: string;
}

export interface DerivedSecretVector {
  master: string;
  apiKey: string;
  secret: string;
}

export interface DerivedV1Vector {
  master: string;
  apiKey: string;
  derivedSecret: string;
  timestamp: string;
  nonce: string;
  method: string;
  host: string;
  target: string;
  contentType: string;
  bodyBase64: string;
  signature: string;
}

/** An `X-API-Server-Time-Signature` case. */
export interface ServerTimeVector {
  secret: string;
  apiKey: string;
  /** Empty for v0. */
  nonce: string;
  serverTime: string;
  signature: string;
}

export interface SignatureVectors {
  revision: number;
  v0: V0Vector[];
  v1: V1Vector[];
  derivedSecrets: DerivedSecretVector[];
  derivedV1: DerivedV1Vector[];
  serverTime: ServerTimeVector[];
}

/** test/fixtures/signatures.json, a copy of the shared protocol vectors. */
export function loadSignatureVectors(): SignatureVectors {
  const file = new URL('../fixtures/signatures.json', import.meta.url);
  return JSON.parse(readFileSync(file, 'utf8')) as SignatureVectors;
}

/** The hex string with the digit at `index` changed to another hex digit (one bit flipped). */
export function flipHexDigit(hex: string, index: number): string {
  const digit = parseInt(hex[index], 16);
  if (Number.isNaN(digit)) throw new Error(`not a hex digit at ${index}: ${hex}`);
  return hex.slice(0, index) + (digit ^ 1).toString(16) + hex.slice(index + 1);
}
