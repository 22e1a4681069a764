import { Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ServiceAuthException } from './service-auth.exception.js';
import { ServiceAuthObserver } from '../observability/service-auth.observer.js';
import { HEADER_SIGNATURE } from '../protocol/protocol.constants.js';
import { hasContentEncoding, type IncomingRequest } from './request.reader.js';

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

/**
 * Refuses signed requests with an encoded body on Fastify before its body
 * parser sees them, as the guard does on Express (where the body parser
 * decodes first): both adapters then answer `415 unsupported_content_encoding`.
 * Fastify's JSON parser would otherwise answer the encoded bytes itself
 * (400), before any guard runs.
 */
@Injectable()
export class EncodedBodyGate implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Optional() private readonly observer?: ServiceAuthObserver,
  ) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter?.getType() !== 'fastify') return;
    const refusal = new ServiceAuthException('unsupported_content_encoding');
    adapter.getInstance<FastifyLike>().addHook('onRequest', (request, reply, done) => {
      const signed = request.headers[HEADER_SIGNATURE] !== undefined || request.headers['signature-input'] !== undefined;
      if (!signed || !hasContentEncoding(request.headers)) return done();
      this.observer?.rejectedBeforeGuard(refusal, request as unknown as IncomingRequest);
      reply.code(refusal.getStatus()).send(refusal.getResponse());
    });
  }
}
