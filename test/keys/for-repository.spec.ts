import { DataSource } from 'typeorm';
import {
  ApiKey,
  apiKeyAuthMigrations,
  ApiKeyService,
  InvalidOptionError,
  InvalidServiceNameError,
  MissingSecretError,
  WeakSecretError,
} from '../../lib/index.js';
import * as protocol from '../../lib/protocol/index.js';
import { sqliteOptions } from '../support/databases.js';

const MASTER = 'a-master-secret-for-the-standalone-key-service-01';

/** `ApiKeyService.forRepository()`: key management outside a Nest app (scripts, the CLI). */
describe('ApiKeyService.forRepository', () => {
  let dataSource: DataSource;
  beforeAll(async () => {
    dataSource = new DataSource({
      ...sqliteOptions(),
      entities: [ApiKey],
      migrations: apiKeyAuthMigrations,
      migrationsRun: true,
      logging: false,
    });
    await dataSource.initialize();
  });
  afterAll(() => dataSource?.destroy());

  it('issues, lists and revokes keys in the repository, with secrets derived as the module does', async () => {
    const keys = ApiKeyService.forRepository(dataSource.getRepository(ApiKey), { secrets: [MASTER], secretMode: 'derived' });
    const created = await keys.create('reports');
    expect(created.secret).toBe(protocol.deriveKeySecret(MASTER, created.apiKey));
    expect((await keys.list({ serviceName: 'reports' })).map((row) => row.apiKey)).toEqual([created.apiKey]);
    await keys.revoke(created.apiKey);
    expect(await keys.list({ serviceName: 'reports' })).toEqual([]);
    await expect(keys.create('Not A Service')).rejects.toThrow(InvalidServiceNameError);
  });

  it('honours apiKeyLength', async () => {
    const keys = ApiKeyService.forRepository(dataSource.getRepository(ApiKey), { secrets: [MASTER], apiKeyLength: 48 });
    expect((await keys.create('reports')).apiKey).toHaveLength(48);
  });

  it('validates its options as ApiKeyAuthModule.forRoot() does', () => {
    const repository = dataSource.getRepository(ApiKey);
    expect(() => ApiKeyService.forRepository(repository, { secrets: ['short'] })).toThrow(WeakSecretError);
    expect(() => ApiKeyService.forRepository(repository, { secrets: [MASTER], apiKeyLength: 8 })).toThrow(InvalidOptionError);
    const saved = process.env.API_SHARED_SECRET;
    delete process.env.API_SHARED_SECRET;
    try {
      expect(() => ApiKeyService.forRepository(repository)).toThrow(MissingSecretError);
    } finally {
      if (saved !== undefined) process.env.API_SHARED_SECRET = saved;
    }
  });
});
