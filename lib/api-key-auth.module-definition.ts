import { ConfigurableModuleBuilder, Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './auth/api-key.guard.js';
import type { ApiKeyAuthModuleExtras, ApiKeyAuthModuleOptions } from './api-key-auth-options.interface.js';

const globalGuardProvider: Provider = { provide: APP_GUARD, useExisting: ApiKeyGuard };

export const {
  ConfigurableModuleClass: ConfigurableApiKeyAuthModule,
  MODULE_OPTIONS_TOKEN: API_KEY_AUTH_OPTIONS,
  OPTIONS_TYPE: API_KEY_AUTH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: API_KEY_AUTH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ApiKeyAuthModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<ApiKeyAuthModuleExtras>({ isGlobal: false, globalGuard: true }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
    providers: [...(definition.providers ?? []), ...(extras.globalGuard ? [globalGuardProvider] : [])],
  }))
  .build();
