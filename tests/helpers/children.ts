// Processes of the project that tests start, and kill: the service as `npm start` runs it
// (server/main.ts) and the scripts of tests/helpers (release-child.ts). Each is one process — node
// with tsx's loader, not the tsx CLI, whose script runs in a child of its own — so SIGKILL ends the
// process itself and with it every connection it holds. Each child gets an application_name of its
// own (PGAPPNAME, which node-postgres reads), so a test finds its backends in pg_stat_activity.
//
//   const svc = startService({ DATABASE_URL: url });              // server/main.ts on a free port
//   const base = await svc.url();                                 // http://127.0.0.1:<port>
//   const lock = await holdLock(knex, 'LOCK TABLE plan.rivers IN SHARE MODE');
//   void fetch(`${base}/api/layers/rivers/imports`, …);           // its transaction waits at the lock
//   await killWhenBlocked(knex, svc, lock);                       // SIGKILL once it waits, the lock let go, its backends gone
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Knex } from 'knex';
import type pg from 'pg';
import { PROJECT_ROOT } from '../../server/platform/config';
import { testConfig } from './db';

export interface Child {
  readonly process: ChildProcess;
  /** The application_name of the child's database connections. */
  readonly appName: string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
}

/** Runs a TypeScript file of the project (path from the project root) as a child process. */
export function spawnScript(script: string, args: string[] = [], env: Record<string, string> = {}): Child {
  const appName = `onemap-child-${randomBytes(4).toString('hex')}`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, script), ...args], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, PGAPPNAME: appName, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    appName,
    exited,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

export interface ServiceChild extends Child {
  /** The base URL once it serves (no trailing slash); rejects, with its output, when it exits first or is not ready in time. */
  url(timeoutMs?: number): Promise<string>;
}

/** The settings that point the service at a database of the run's server (the embedded cluster's, or DATABASE_URL's). */
export function onTestDatabase(database: string): Record<string, string> {
  const { DATABASE_URL } = testConfig();
  return DATABASE_URL ? { DATABASE_URL: Object.assign(new URL(DATABASE_URL), { pathname: `/${database}` }).toString() } : { ONEMAP_DB_NAME: database };
}

/** The service as `npm start` runs it (server/main.ts), on a free port of 127.0.0.1, logging at info (its ready line names the URL). */
export function startService(env: Record<string, string> = {}): ServiceChild {
  const c = spawnScript('server/main.ts', [], { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env });
  let ready: Promise<string> | undefined;
  const url = (timeoutMs = 60_000) =>
    (ready ??= new Promise<string>((resolve, reject) => {
      const until = Date.now() + timeoutMs;
      const poll = setInterval(() => {
        const m = /"url":"(http:\/\/[^"]+?)\/?"/.exec(c.output());
        if (m) {
          clearInterval(poll);
          resolve(m[1]);
        } else if (Date.now() > until) {
          clearInterval(poll);
          reject(new Error(`the service was not ready within ${timeoutMs} ms:\n${c.output().slice(-4000)}`));
        }
      }, 50);
      void c.exited.then((code) => {
        clearInterval(poll);
        reject(new Error(`the service exited (${code}) before it was ready:\n${c.output().slice(-4000)}`));
      });
    }));
  return { ...c, url };
}

/** A lock held by a transaction of the test's own, on a connection of its own, until release(). */
export interface HeldLock {
  /** The backend holding it. */
  readonly pid: number;
  /** Ends the transaction (and so the lock); safe to call twice. */
  release(): Promise<void>;
}

/** Opens a transaction that runs `lockSql` (LOCK TABLE …, SELECT pg_advisory_xact_lock(…)) and keeps it open. */
export async function holdLock(knex: Knex, lockSql: string): Promise<HeldLock> {
  const conn = (await knex.client.acquireConnection()) as pg.ClientBase;
  let held = true;
  try {
    await conn.query('BEGIN');
    await conn.query(lockSql);
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    await knex.client.releaseConnection(conn);
    throw err;
  }
  const { rows } = await conn.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return {
    pid: rows[0].pid,
    async release() {
      if (!held) return;
      held = false;
      await conn.query('ROLLBACK').catch(() => undefined);
      await knex.client.releaseConnection(conn);
    },
  };
}

/** What the child's backends that wait for the lock `held` holds are running. */
async function blockedQueries(knex: Knex, child: Pick<Child, 'appName'>, held: HeldLock): Promise<string[]> {
  const { rows } = await knex.raw<{ rows: { query: string }[] }>('SELECT query FROM pg_stat_activity WHERE application_name = ? AND ? = ANY(pg_blocking_pids(pid))', [child.appName, held.pid]);
  return rows.map((r) => r.query);
}

/**
 * Kills the child (SIGKILL) at a well-defined moment: once one of its transactions waits for the
 * lock `held` holds (waiting at most `timeoutMs`). Then lets the lock go and waits until every
 * backend of the child is gone — a backend that waited finds its client gone at its next message
 * and rolls back (or, waiting inside COMMIT, finishes that commit first). Returns what the waiting
 * backend was running.
 */
export async function killWhenBlocked(knex: Knex, child: Child, held: HeldLock, timeoutMs = 60_000): Promise<{ query: string }> {
  let query = '';
  try {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const waiting = await blockedQueries(knex, child, held);
      if (waiting.length) {
        query = waiting[0];
        break;
      }
      if (child.process.exitCode !== null) throw new Error(`the child exited (${child.process.exitCode}) before it waited for the lock:\n${child.output().slice(-4000)}`);
      if (Date.now() > until) throw new Error(`no transaction of the child waited for the lock within ${timeoutMs} ms:\n${child.output().slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await child.kill();
  } finally {
    await held.release();
  }
  await backendsGone(knex, child, timeoutMs);
  return { query };
}

/** Waits (at most `timeoutMs`) until no backend of the child is left. */
export async function backendsGone(knex: Knex, child: Pick<Child, 'appName'>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { rows } = await knex.raw<{ rows: { n: number }[] }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ?', [child.appName]);
    if (rows[0].n === 0) return;
    if (Date.now() > until) throw new Error(`${rows[0].n} backends of ${child.appName} are still there after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
