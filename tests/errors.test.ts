// The one error path: operational errors become JSON with a code; a statement timeout is a 503,
// told apart from a bad request, and so is a database that cannot be reached (with Retry-After).
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import express from 'express';
import knexFactory from 'knex';
import { describe, expect, it, inject } from 'vitest';
import { AppError, errorHandler } from '../server/platform/errors';
import { connect, openDatabase } from '../server/platform/db';
import { testConfig } from './helpers/db';

/** Serves one route that fails with err through the service's error handler; returns the response. */
async function respond(err: unknown) {
  const app = express();
  app.get('/', () => {
    throw err;
  });
  app.use(errorHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after') };
  } finally {
    server.close();
  }
}

describe('error handling', () => {
  it('answers a real PostgreSQL statement timeout with 503 query_timeout', async () => {
    const db = await openDatabase({ ...testConfig(), ONEMAP_STATEMENT_TIMEOUT_MS: 100 }, { database: inject('demoDatabase') });
    const err = await db.knex.raw('SELECT pg_sleep(2)').then(
      () => undefined,
      (e: unknown) => e,
    );
    await db.close();
    expect((err as { code?: string }).code).toBe('57014');
    const { status, body } = await respond(err);
    expect(status).toBe(503);
    expect(body.code).toBe('query_timeout');
  });

  it('answers a database that cannot be reached with 503 unavailable and Retry-After, however it fails', async () => {
    const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
    const errs: Record<string, unknown> = {};
    // A stopped server: its unix socket is gone (ENOENT on connect).
    const nowhere = connect({ host: '/nonexistent/onemap-socket', port: 5432, user: 'postgres', database: 'x' }, 0);
    errs.socket = await failure(nowhere.raw('SELECT 1'));
    await nowhere.destroy();
    // A server shutting down under a statement: its backend terminated (57P01 admin_shutdown).
    const db = await openDatabase(testConfig(), { database: inject('demoDatabase') });
    const sleeping = failure(db.knex.raw(`SELECT pg_sleep(10) /* errors.test terminated */`));
    await expect.poll(async () => (await db.knex.raw(`SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE query LIKE '%errors.test terminated%' AND pid <> pg_backend_pid()`)).rows.length, { timeout: 10_000 }).toBe(1);
    errs.terminated = await sleeping;
    // No connection in time (the pool's acquire timeout).
    const one = knexFactory({ client: 'pg', connection: db.connection, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 200 });
    const held = await one.client.acquireConnection();
    errs.pool = await failure(one.raw('SELECT 1'));
    await one.client.releaseConnection(held);
    await one.destroy();
    await db.close();
    expect(Object.fromEntries(Object.entries(errs).map(([k, e]) => [k, (e as { code?: string; name?: string }).code ?? (e as Error).name]))).toEqual({ socket: 'ENOENT', terminated: '57P01', pool: 'KnexTimeoutError' });
    for (const [k, e] of Object.entries(errs)) {
      const { status, body, retryAfter } = await respond(e);
      expect({ k, status, code: body.code, retryAfter }).toEqual({ k, status: 503, code: 'unavailable', retryAfter: '2' });
      expect(body.message).toContain('not reachable');
    }
  });

  it('keeps other errors that name a missing file a 500 (ENOENT only counts on connect)', async () => {
    const err = await fs.promises.readFile('/nonexistent/onemap-file').catch((e: unknown) => e);
    const { status, body, retryAfter } = await respond(err);
    expect({ status, code: body.code, retryAfter }).toEqual({ status: 500, code: 'internal', retryAfter: null });
  });

  it('writes an application error with its status, code, message and details', async () => {
    const { status, body } = await respond(new AppError(409, 'layer_busy', 'it clashes', { where: 'a' }));
    expect(status).toBe(409);
    expect(body).toEqual({ code: 'layer_busy', message: 'it clashes', details: { where: 'a' } });
  });

  it('hides the text of an unexpected error behind a 500 internal', async () => {
    const { status, body } = await respond(new Error('secret connection string postgres://u:p@h/db'));
    expect(status).toBe(500);
    expect(body.code).toBe('internal');
    expect(JSON.stringify(body)).not.toContain('secret');
  });
});
