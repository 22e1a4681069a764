export { ServiceAuthHealthIndicator } from './service-auth.health-indicator.js';
export { ServiceAuthHealthModule } from './service-auth-health.module.js';
export type { KeyStoreCheckOptions, NonceStoreCheckOptions } from './health-check.options.js';
