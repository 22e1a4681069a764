import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ServiceAuthClientModuleExtras, ServiceAuthClientModuleOptions } from './service-auth-client-options.interface.js';

export const {
  ConfigurableModuleClass: ConfigurableServiceAuthClientModule,
  MODULE_OPTIONS_TOKEN: SERVICE_AUTH_CLIENT_OPTIONS,
  OPTIONS_TYPE: SERVICE_AUTH_CLIENT_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: SERVICE_AUTH_CLIENT_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<ServiceAuthClientModuleOptions>()
  .setClassMethodName('forRoot')
  .setExtras<ServiceAuthClientModuleExtras>({ isGlobal: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
