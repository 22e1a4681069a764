// Requests as Express hands them to a guard: Node's IncomingMessage with Express's request
// prototype and what Express's router and Nest's adapter put on it before the guards run.
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import express from 'express';
import type { FakeRequest } from './micro-requests.js';

const app = express();
const socket = new Socket();

/** `fake` made into an Express request (the same headers, method and target). */
export function asExpressRequest(fake: FakeRequest): IncomingMessage {
  const req = new IncomingMessage(socket);
  req.method = fake.method;
  req.url = fake.url;
  req.headers = fake.headers;
  req.rawHeaders = fake.rawHeaders;
  Object.setPrototypeOf(req, app.request);
  const fields = req as unknown as Record<string, unknown>;
  fields.res = {};
  fields.next = () => undefined;
  fields.baseUrl = '';
  fields.originalUrl = fake.url;
  fields.params = { id: '42' };
  Object.defineProperty(req, 'query', { configurable: true, enumerable: true, writable: true, value: { expand: 'lines' } });
  fields.route = {};
  fields.body = {};
  if (fake.rawBody) fields.rawBody = fake.rawBody;
  return req;
}
