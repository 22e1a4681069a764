import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ServiceAuthException } from '../errors/service-auth.exception.js';
import { HEADER_SIGNATURE } from '../protocol/index.js';

interface FastifyLike {
  addHook(
    name: 'onRequest',
    hook: (request: { headers: Record<string, unknown> }, reply: FastifyReplyLike, done: () => void) => void,
  ): unknown;
}

interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  send(body: unknown): unknown;
}

/** Whether a request declares a `Content-Encoding` other than `identity`. */
export function hasContentEncoding(headers: Record<string, unknown>): boolean {
  const encoding = headers['content-encoding'];
  return encoding !== undefined && !(typeof encoding === 'string' && /^[ \t]*identity[ \t]*$/i.test(encoding));
}

/**
 * Refuses signed requests with an encoded body on Fastify before its body
 * parser sees them, as the guard does on Express (where the body parser
 * decodes first): both adapters then answer `415 unsupported_content_encoding`.
 * Fastify's JSON parser would otherwise answer the encoded bytes itself
 * (400), before any guard runs.
 */
@Injectable()
export class EncodedBodyGate implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify') return;
    const refusal = new ServiceAuthException('unsupported_content_encoding');
    (adapter.getInstance() as FastifyLike).addHook('onRequest', (request, reply, done) => {
      const signed = request.headers[HEADER_SIGNATURE] !== undefined || request.headers['signature-input'] !== undefined;
      if (signed && hasContentEncoding(request.headers)) reply.code(refusal.getStatus()).send(refusal.getResponse());
      else done();
    });
  }
}
