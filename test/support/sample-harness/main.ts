// The sample app with everything the tests need around it: MySQL, PostgreSQL or
// SQLite, Redis, HTTPS, both HTTP adapters, a key-revoking route, and every
// setting from the environment (sample.config.ts). Tests start it as a process,
// built by `npm run build`: node dist/test/support/sample-harness/main.js
// The short example a reader copies from is sample/ (`npm start`).
import { ApiKeyAuthConfigurationError } from '../../../lib/index.js';
import { loadSampleConfig, SampleConfigError } from './sample.config.js';
import { createSampleApp } from './sample-app.js';

try {
  const sample = await createSampleApp(loadSampleConfig(process.env));
  // Ctrl-C / SIGTERM close the app (HTTP server and database) cleanly.
  sample.app.enableShutdownHooks();
} catch (error) {
  // Configuration mistakes: one line that says what to fix, no stack trace.
  if (error instanceof SampleConfigError || error instanceof ApiKeyAuthConfigurationError) {
    console.error(error.message);
  } else {
    console.error(`The sample failed to start: ${error instanceof Error ? error.message : String(error)}`);
  }
  process.exit(1);
}
