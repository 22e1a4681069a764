import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

/** One request as the fake peer received it. */
export interface PeerRequest {
  method: string;
  /** Path and query, as on the request line. */
  target: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** What the fake peer answers. A JSON body unless `body` is a string. */
export interface PeerAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export type PeerHandler = (request: PeerRequest, index: number) => PeerAnswer;

/**
 * A small HTTP server on 127.0.0.1 that stands for a peer, or for an attacker
 * on the path to it: it answers what the test says and records every request.
 */
export class FakePeer {
  readonly requests: PeerRequest[] = [];
  handler: PeerHandler;

  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:<port>` */
    readonly baseUrl: string,
    handler: PeerHandler,
  ) {
    this.handler = handler;
  }

  static async start(handler: PeerHandler = () => ({ status: 200, body: { ok: true } })): Promise<FakePeer> {
    let peer: FakePeer | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: PeerRequest = { method: req.method ?? '', target: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        peer!.requests.push(request);
        const answer = peer!.handler(request, peer!.requests.length - 1);
        const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? {});
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const { port } = server.address() as { port: number };
    peer = new FakePeer(server, `http://127.0.0.1:${port}`, handler);
    return peer;
  }

  /** The value of one header of request `index`. */
  header(index: number, name: string): string | undefined {
    const value = this.requests[index]?.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
