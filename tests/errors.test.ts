// The one error path: operational errors become JSON with a code; a statement timeout is a 503,
// told apart from a bad request.
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it, inject } from 'vitest';
import { AppError, errorHandler } from '../server/platform/errors';
import { openDatabase } from '../server/platform/db';
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
    return { status: res.status, body: await res.json() };
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
