// The protocol's public functions, plus the internal ones the micro benchmark measures on their own.
export * from '../lib/protocol/index.js';
export { secretKey, sha256Hex } from '../lib/protocol/crypto.js';
export { matchesAnySecret } from '../lib/protocol/signature.js';
