import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { SampleConfigError, type SampleConfig } from './sample.config.js';

/** The certificate and key the sample serves HTTPS with (TLS_CERT_FILE, TLS_KEY_FILE). */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

export function readTlsFiles(config: SampleConfig): TlsFiles | undefined {
  if (!config.tls) return undefined;
  const read = (variable: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (error) {
      throw new SampleConfigError(`${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
  };
  return { cert: read('TLS_CERT_FILE', config.tls.certFile), key: read('TLS_KEY_FILE', config.tls.keyFile) };
}

/**
 * A `fetch` for the startup demo's calls to this very server that trusts its
 * (possibly self-signed) certificate, as a client given that certificate as
 * its CA would. Other clients use their usual trust store.
 */
export function fetchTrusting(ca: Buffer): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = request(url, { method: init.method ?? 'GET', headers, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          resolve(new Response(Buffer.concat(chunks), { status: res.statusCode, headers: responseHeaders }));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(init.body as string | Uint8Array | undefined);
    });
}
