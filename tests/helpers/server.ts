// The real service, in-process on port 0, on the run's demo database.
import type { AddressInfo } from 'node:net';
import { inject } from 'vitest';
import { createApp } from '../../server/app';
import { loadRegistry } from '../../server/layers/registry';
import { openDatabase } from '../../server/platform/db';
import { createHttpServer } from '../../server/platform/security';
import { testConfig } from './db';

export interface TestServer {
  baseUrl: string;
  close(): Promise<void>;
}

/** Starts the service on the run's demo database, or on the named one. */
export async function startTestServer(database: string = inject('demoDatabase'), env: Record<string, string> = {}): Promise<TestServer> {
  // The settings as the service reads them (typed and checked), with the file's own on top.
  const config = testConfig(env);
  const db = await openDatabase(config, { database });
  const { app, close } = await createApp(config, db, loadRegistry());
  // The service's own HTTP server, with its limits (platform/security.ts).
  const server = createHttpServer(app, config).listen(0, '127.0.0.1');
  // fetch (undici) keeps idle sockets for the server's Keep-Alive hint less a second; on a loaded
  // machine the server's own 5 s timer can close one just as a test reuses it (ECONNRESET). A long
  // timeout leaves the closing to the client.
  if (!env.ONEMAP_KEEP_ALIVE_TIMEOUT_MS) server.keepAliveTimeout = 120_000;
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await close();
      await db.close();
    },
  };
}
