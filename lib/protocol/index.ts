export * from './protocol.constants.js';
export * from './string-to-sign.js';
export * from './crypto.js';
export * from './credentials.js';
export * from './signature.js';
export * from './nonce.js';
export * from './server-time.js';
