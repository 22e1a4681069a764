import { Controller, Delete, HttpCode, NotFoundException, Param } from '@nestjs/common';
import { AllowServices, ApiKeyService } from '../../../lib/index.js';

/**
 * Revokes keys over HTTP, for the `key-admin` service only. With REDIS_URL,
 * every instance stops accepting the key within a second.
 */
@AllowServices('key-admin')
@Controller('keys')
export class KeysController {
  constructor(private readonly keys: ApiKeyService) {}

  @Delete(':apiKey')
  @HttpCode(200)
  async revoke(@Param('apiKey') apiKey: string) {
    if (!(await this.keys.revoke(apiKey))) throw new NotFoundException(`No active API key ${apiKey}.`);
    return { revoked: apiKey };
  }
}
