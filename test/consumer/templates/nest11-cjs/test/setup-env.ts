// Read when AppModule is imported: an in-memory database, and the shared secret.
process.env.SQLITE_PATH = ':memory:';
process.env.API_SHARED_SECRET = 'consumer-e2e-shared-secret-0123456789abcdef';
