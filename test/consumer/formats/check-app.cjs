'use strict';
// One Nest app, built only from the modules its entry file loaded (check.cjs
// with require, check.mjs with import), so that a run exercises exactly one
// build of nestjs-service-auth. It checks the class-identity handoffs that
// cross the package boundary:
//  - the guard registered globally and again with @UseGuards(ApiKeyGuard)
//    recognises its own authenticated caller (else: 401 replayed_request);
//  - @Catch(ServiceAuthException) in app code catches the guard's rejections;
//  - Nest's own handler sees ServiceAuthException as an HttpException (a 401
//    with our JSON body, not a 500).
// Plain JavaScript (no TypeScript, no decorator syntax), so that Node loads it
// as is from either entry. Exits non-zero on the first failed check.
const assert = require('node:assert/strict');

const SECRET = 'format-check-shared-secret-0123456789abcdef';
const RATE_LIMIT = { limit: 6, ttlMs: 60_000 };

function decorateClass(decorators, target) {
  Reflect.decorate(decorators, target);
}

function decorateMethod(decorators, target, name) {
  const descriptor = Object.getOwnPropertyDescriptor(target.prototype, name);
  Object.defineProperty(target.prototype, name, Reflect.decorate(decorators, target.prototype, name, descriptor));
}

/**
 * @param {object} m modules: { common, core, typeorm, auth, adapters: { express?, fastify? },
 *   ThrottlerStorage: the rate-limit storage class to pass (auth.MemoryThrottlerStorage unless testing the other build's) }
 * @param {string} label printed with every result, e.g. "cjs" or "esm"
 */
async function checkApp(m, label) {
  const { Catch, Controller, Get, Module, Param, UseFilters, UseGuards } = m.common;
  const {
    ApiKey,
    ApiKeyAuthModule,
    apiKeyAuthMigrations,
    ApiKeyGuard,
    ApiKeyService,
    ServiceAuthException,
    ServiceCaller,
    SigningService,
  } = m.auth;
  const handled = [];
  // Nest injects constructor parameters by their type: the build must have kept the decorator metadata.
  for (const injectable of [ApiKeyGuard, ApiKeyService, SigningService]) {
    const types = Reflect.getMetadata('design:paramtypes', injectable);
    assert.ok(Array.isArray(types) && types.length === injectable.length, `${label}: design:paramtypes of ${injectable.name}`);
  }

  class CaughtServiceAuthErrors {
    catch(error, host) {
      const response = host.switchToHttp().getResponse();
      const body = { caughtBy: 'app-filter', code: error.code, isServiceAuthException: error instanceof ServiceAuthException };
      if (typeof response.code === 'function') response.code(error.getStatus()).header('x-caught-by', 'app-filter').send(body);
      else response.status(error.getStatus()).set('x-caught-by', 'app-filter').json(body);
    }
  }
  decorateClass([Catch(ServiceAuthException)], CaughtServiceAuthErrors);

  class ItemsController {
    get(id, caller) {
      handled.push(`items:${id}`);
      return { id, serviceName: caller.serviceName, scheme: caller.scheme };
    }
  }
  decorateMethod([Get(':id')], ItemsController, 'get');
  Param('id')(ItemsController.prototype, 'get', 0);
  ServiceCaller()(ItemsController.prototype, 'get', 1);
  decorateClass([Controller('items'), UseGuards(ApiKeyGuard), UseFilters(new CaughtServiceAuthErrors())], ItemsController);

  class PlainController {
    get(id) {
      handled.push(`plain:${id}`);
      return { id };
    }
  }
  decorateMethod([Get(':id')], PlainController, 'get');
  Param('id')(PlainController.prototype, 'get', 0);
  decorateClass([Controller('plain')], PlainController);

  class AppModule {}
  decorateClass(
    [
      Module({
        imports: [
          m.typeorm.TypeOrmModule.forRoot({
            type: 'better-sqlite3',
            database: ':memory:',
            entities: [ApiKey],
            migrations: apiKeyAuthMigrations,
            migrationsRun: true,
          }),
          // A storage per app (the same class the guard checks with instanceof, unless the caller passes the other build's).
          ApiKeyAuthModule.forRootAsync({
            useFactory: () => ({ secrets: [SECRET], rateLimit: RATE_LIMIT, throttlerStorage: new m.ThrottlerStorage() }),
          }),
        ],
        controllers: [ItemsController, PlainController],
      }),
    ],
    AppModule,
  );

  for (const [name, Adapter] of Object.entries(m.adapters)) {
    handled.length = 0;
    const app = await m.core.NestFactory.create(AppModule, new Adapter(), { rawBody: true, logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      const { apiKey } = await app.get(ApiKeyService).create('orders');
      const signer = app.get(SigningService).withCredentials({ apiKey, secret: SECRET });

      const accepted = await signer.fetch(`${base}/items/1`);
      assert.equal(accepted.status, 200, `${label}/${name}: signed GET through two guard runs: ${await accepted.clone().text()}`);
      assert.deepEqual(await accepted.json(), { id: '1', serviceName: 'orders', scheme: 'v1' });

      const headers = signer.sign({ method: 'GET', url: `${base}/items/2` });
      assert.equal((await fetch(`${base}/items/2`, { headers })).status, 200, `${label}/${name}: first use of a nonce`);
      const replayed = await fetch(`${base}/items/2`, { headers });
      assert.equal(replayed.status, 401, `${label}/${name}: replay`);
      assert.equal(replayed.headers.get('x-caught-by'), 'app-filter', `${label}/${name}: @Catch(ServiceAuthException) in app code`);
      assert.deepEqual(await replayed.json(), { caughtBy: 'app-filter', code: 'replayed_request', isServiceAuthException: true });

      const tampered = await fetch(`${base}/items/3`, { headers: signer.sign({ method: 'GET', url: `${base}/items/4` }) });
      assert.equal(tampered.status, 401, `${label}/${name}: tampered path`);
      assert.equal((await tampered.json()).code, 'invalid_signature');

      const unsigned = await fetch(`${base}/plain/5`);
      assert.equal(unsigned.status, 401, `${label}/${name}: unsigned request, Nest's own exception handler`);
      assert.equal(unsigned.headers.get('x-caught-by'), null);
      assert.deepEqual(
        { ...(await unsigned.json()), message: undefined },
        { statusCode: 401, error: 'Unauthorized', code: 'missing_credentials', message: undefined },
      );

      assert.deepEqual(handled, ['items:1', 'items:2'], `${label}/${name}: handlers that ran`);

      const statuses = [];
      for (let i = 0; i < RATE_LIMIT.limit + 2 && !statuses.includes(429); i++) {
        statuses.push((await signer.fetch(`${base}/items/9`)).status);
      }
      assert.ok(statuses[0] === 200 && statuses.at(-1) === 429, `${label}/${name}: per-key rate limit: ${statuses.join(' ')}`);
      assert.equal(handled.filter((call) => call === 'items:9').length, statuses.length - 1);
      console.log(`ok ${label} ${name}`);
    } finally {
      await app.close();
    }
  }
}

module.exports = { checkApp };
