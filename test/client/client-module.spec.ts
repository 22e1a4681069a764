import { Injectable, Module, type INestApplicationContext } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import {
  ApiKeyAuthConfigurationError,
  InvalidClientOptionError,
  NoPeerForOriginError,
  ServiceAuthClientModule,
  SigningService,
  UnknownPeerError,
  type ServiceAuthClientModuleOptions,
} from '../../lib/client/index.js';
import { FakePeer } from '../signing/fake-peer.js';
import { ADAPTERS, createTestApp, TEST_SECRET, type TestApp } from '../support/test-app.js';

const BILLING_SECRET = 'billing-shared-secret-0123456789-abcdefgh';
const SHIPPING_SECRET = 'shipping-shared-secret-0123456789-abcdefg';

/** A client app: its root module imports the client module and nothing else. */
async function createClientApp(client: ReturnType<typeof ServiceAuthClientModule.forRoot>): Promise<INestApplicationContext> {
  @Module({ imports: [client] })
  class ClientAppModule {}
  return NestFactory.createApplicationContext(ClientAppModule, { logger: false, abortOnError: false });
}

function moduleNames(app: INestApplicationContext): string[] {
  return [...app.get(ModulesContainer).values()].map((module) => module.metatype.name).sort();
}

/** The X-API-Key of every request a verifying app received, whatever it answered. */
function recordKeys(t: TestApp): string[] {
  const keys: string[] = [];
  (t.app.getHttpServer() as Server).on('request', (request) => keys.push(String(request.headers['x-api-key'])));
  return keys;
}

describe.each(ADAPTERS)('ServiceAuthClientModule calling verifying apps (%s)', (adapter) => {
  let billing: TestApp;
  let shipping: TestApp;
  let billingKey: string;
  let shippingKey: string;
  let billingSeen: string[];
  let shippingSeen: string[];

  beforeAll(async () => {
    billing = await createTestApp({ adapter, auth: { secrets: [BILLING_SECRET], rateLimit: false } });
    shipping = await createTestApp({ adapter, auth: { secrets: [SHIPPING_SECRET], rateLimit: false } });
    ({ apiKey: billingKey } = await billing.keys.create('orders'));
    ({ apiKey: shippingKey } = await shipping.keys.create('orders'));
    billingSeen = recordKeys(billing);
    shippingSeen = recordKeys(shipping);
  });

  afterAll(async () => {
    await billing?.close();
    await shipping?.close();
  });

  beforeEach(() => {
    billing.log.calls.length = 0;
    shipping.log.calls.length = 0;
    billingSeen.length = 0;
    shippingSeen.length = 0;
  });

  const peers = () => ({
    billing: { baseUrl: billing.baseUrl, apiKey: billingKey, secret: BILLING_SECRET },
    shipping: { baseUrl: shipping.baseUrl, apiKey: shippingKey, secret: SHIPPING_SECRET },
  });

  it('forRoot({ apiKey, secret }): an app with no database and no verifier signs a call the verifier accepts', async () => {
    const client = await createClientApp(ServiceAuthClientModule.forRoot({ apiKey: billingKey, secret: BILLING_SECRET }));
    try {
      expect(moduleNames(client)).toEqual(['ClientAppModule', 'InternalCoreModule', 'ServiceAuthClientModule']);
      const response = await client.get(SigningService).fetch(`${billing.baseUrl}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"amount":12}',
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toEqual({ caller: 'orders', body: { amount: 12 } });
      expect(billing.log.calls).toEqual(['create']);
    } finally {
      await client.close();
    }
  });

  it('peers: each call is signed with the credentials of the peer it goes to', async () => {
    const client = await createClientApp(ServiceAuthClientModule.forRoot({ peers: peers() }));
    try {
      const signing = client.get(SigningService);
      const toBilling = await signing.fetch(`${billing.baseUrl}/items/1`);
      expect(await toBilling.json()).toEqual({ id: '1', caller: { apiKey: billingKey, serviceName: 'orders', scheme: 'v1' } });
      const toShipping = await signing.fetch(`${shipping.baseUrl}/items/2`);
      expect(await toShipping.json()).toEqual({ id: '2', caller: { apiKey: shippingKey, serviceName: 'orders', scheme: 'v1' } });
      // The signer of one peer resolves relative URLs against that peer's baseUrl.
      const viaPeer = await signing.peer('shipping').fetch('/items/3?x=1');
      expect(await viaPeer.json()).toMatchObject({ id: '3', caller: { apiKey: shippingKey } });
      expect(signing.peer('shipping')).toBe(signing.peer('shipping'));

      expect(billingSeen).toEqual([billingKey]);
      expect(shippingSeen).toEqual([shippingKey, shippingKey]);
      expect(billing.log.calls).toEqual(['get:1']);
      expect(shipping.log.calls).toEqual(['get:2', 'get:3']);
    } finally {
      await client.close();
    }
  });

  it('peers: a request to any other origin throws before anything is sent', async () => {
    const stranger = await FakePeer.start();
    const client = await createClientApp(ServiceAuthClientModule.forRoot({ peers: peers() }));
    try {
      const signing = client.get(SigningService);
      const port = new URL(billing.baseUrl).port;
      const elsewhere = [
        `${stranger.baseUrl}/items/1`,
        `http://localhost:${port}/items/1`, // the same server under another name: another origin
        `https://127.0.0.1:${port}/items/1`,
        `http://${billing.host}@${stranger.baseUrl.slice('http://'.length)}/items/1`,
      ];
      for (const url of elsewhere) {
        await expect(signing.fetch(url)).rejects.toThrow(NoPeerForOriginError);
        expect(() => signing.sign({ method: 'GET', url })).toThrow(NoPeerForOriginError);
      }
      // The signer of one peer refuses the other peer, absolute or protocol-relative.
      const billingOnly = signing.peer('billing');
      await expect(billingOnly.fetch(`${shipping.baseUrl}/items/1`)).rejects.toThrow(NoPeerForOriginError);
      await expect(billingOnly.fetch(`//${shipping.host}/items/1`)).rejects.toThrow(NoPeerForOriginError);
      await expect(signing.fetch(`${stranger.baseUrl}/x`)).rejects.toThrow(
        `nestjs-service-auth: SigningService has no credentials for ${stranger.baseUrl}; its peers are ` +
          `billing at ${billing.baseUrl}, shipping at ${shipping.baseUrl}.`,
      );
      expect(() => signing.peer('billling')).toThrow(UnknownPeerError);
      expect(() => signing.peer('billling')).toThrow('no peer named "billling" (configured: billing, shipping)');

      expect(stranger.requests).toHaveLength(0);
      expect(billingSeen).toEqual([]);
      expect(shippingSeen).toEqual([]);
    } finally {
      await client.close();
      await stranger.close();
    }
  });

  it("peers: a peer's redirect to another peer is not followed, so its signed headers stay with it", async () => {
    const redirecting = await FakePeer.start(() => ({ status: 307, headers: { location: `${shipping.baseUrl}/items/9` } }));
    const client = await createClientApp(
      ServiceAuthClientModule.forRoot({
        peers: { ...peers(), gateway: { baseUrl: redirecting.baseUrl, apiKey: billingKey, secret: BILLING_SECRET } },
      }),
    );
    try {
      const response = await client.get(SigningService).fetch(`${redirecting.baseUrl}/items/9`);
      expect(response.status).toBe(307);
      expect(redirecting.requests).toHaveLength(1);
      expect(shippingSeen).toEqual([]);
      expect(shipping.log.calls).toEqual([]);
    } finally {
      await client.close();
      await redirecting.close();
    }
  });

  it('forRootAsync() with an injected configuration, isGlobal', async () => {
    @Injectable()
    class PeerConfig {
      readonly peers = peers();
    }
    @Module({ providers: [PeerConfig], exports: [PeerConfig] })
    class PeerConfigModule {}

    @Injectable()
    class InvoiceClient {
      constructor(readonly signing: SigningService) {}
    }
    @Module({ providers: [InvoiceClient] })
    class FeatureModule {}

    @Module({
      imports: [
        ServiceAuthClientModule.forRootAsync({
          imports: [PeerConfigModule],
          inject: [PeerConfig],
          useFactory: (config: PeerConfig): ServiceAuthClientModuleOptions => ({ peers: config.peers }),
          isGlobal: true,
        }),
        FeatureModule,
      ],
    })
    class AsyncClientAppModule {}
    const client = await NestFactory.createApplicationContext(AsyncClientAppModule, { logger: false, abortOnError: false });
    try {
      const response = await client.get(InvoiceClient).signing.peer('billing').fetch('/items/5');
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ caller: { apiKey: billingKey } });
    } finally {
      await client.close();
    }
  });

  it('credentials of one peer sent to another are refused there: the separation is real', async () => {
    // What would happen without per-peer selection: billing's credentials at shipping.
    const wrong = new SigningService().withCredentials({ apiKey: billingKey, secret: BILLING_SECRET });
    const response = await wrong.fetch(`${shipping.baseUrl}/items/1`);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'invalid_signature' });
    expect(shipping.log.calls).toEqual([]);
  });
});

describe('ServiceAuthClientModule startup', () => {
  it('a client app does not start with bad options: a named error that says what to fix', async () => {
    await expect(createClientApp(ServiceAuthClientModule.forRoot({ apiKey: 'k'.repeat(32), secret: 'too-short' }))).rejects.toThrow(
      new InvalidClientOptionError('secret', 'must be at least 32 characters.'),
    );
  });

  it('forRootAsync() validates what the factory returns', async () => {
    const attempt = createClientApp(ServiceAuthClientModule.forRootAsync({ useFactory: async () => ({}) }));
    await expect(attempt).rejects.toBeInstanceOf(InvalidClientOptionError);
    await expect(createClientApp(ServiceAuthClientModule.forRootAsync({ useFactory: async () => ({}) }))).rejects.toThrow(
      'nestjs-service-auth: ServiceAuthClientModule option `apiKey` is required: give `apiKey` and `secret` ' +
        '(one set of credentials for every call), or `peers`.',
    );
  });

  it('InvalidClientOptionError is an ApiKeyAuthConfigurationError', () => {
    expect(new InvalidClientOptionError('secret', 'x')).toBeInstanceOf(ApiKeyAuthConfigurationError);
    expect(new InvalidClientOptionError('secret', 'x').name).toBe('InvalidClientOptionError');
  });

  it('the signer of forRoot({ apiKey, secret }) has no peers', async () => {
    const client = await createClientApp(ServiceAuthClientModule.forRoot({ apiKey: 'k'.repeat(32), secret: TEST_SECRET }));
    try {
      expect(() => client.get(SigningService).peer('billing')).toThrow('(configured: none)');
    } finally {
      await client.close();
    }
  });
});
