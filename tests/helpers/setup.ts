// The set-up a test file needs, in one call each instead of the same beforeAll / afterAll in every
// file: the hooks are registered where the call is (the file, or a describe block), made before its
// tests and closed after, in reverse order (vitest's "stack" hooks: a server closes before its
// database). What they return is usable from the first line; used before its beforeAll ran, it throws.
//
//   const srv = useFileServer();                  // the service on the run's shared demo database (read only)
//   const demo = useSharedDemoDatabase();         // that database's knex, to compare answers with PostGIS (read only)
//   const { knex, srv } = useDemoCopy();          // a copy of the demo for the file (it may write), and the service on it
//   const db = useFileDatabase();                 // an empty database of the file's own (db.knex, db.name)
//   const srv = useFileServer(db, env);           // the service on that one, with settings of its own
//   const viewer = useViewer(srv);                // the viewer on a service in headless Chromium (logged in as admin), its map idle
//   const viewer = useViewer(srv, { as: 'land.reviewer' }); // …as another demo account (null: anonymous)
import type { Knex } from 'knex';
import { afterAll, beforeAll, inject } from 'vitest';
import { loadDemo } from '../../server/demo/load';
import { useTestDatabase } from './db';
import type { Viewer, ViewerOptions } from './browser';
import type { TestServer } from './server';

/** A database of the test file's own. */
export interface FileDatabase {
  /** The database's knex; it stands for it from the first line of the file. */
  readonly knex: Knex;
  /** The database's name. */
  readonly name: string;
}

/**
 * A fresh, migrated database for the file (it may write), with the demo data set when `demo`
 * (~15 s on two cores); dropped after the file's tests.
 */
export function useFileDatabase(opts: { demo?: boolean } = {}): FileDatabase {
  let db: Awaited<ReturnType<typeof useTestDatabase>> | undefined;
  beforeAll(async () => {
    db = await useTestDatabase();
    if (opts.demo) await loadDemo(db.knex, { scale: 'demo' });
  });
  afterAll(() => db?.close());
  const made = () => db ?? notYet('the file database');
  return {
    knex: standIn(() => made().knex),
    get name() {
      return made().name;
    },
  };
}

/** The service a file talks to (it is closed by the file's afterAll). */
export interface FileServer {
  /** http://127.0.0.1:<port>, no trailing slash. */
  readonly baseUrl: string;
}

/** The service for the file: on the file's database, or on the run's shared (read-only) demo database. */
export function useFileServer(database?: FileDatabase, env: Record<string, string> = {}): FileServer {
  let srv: TestServer | undefined;
  beforeAll(async () => {
    // Imported here: a file with a database and no server does not load the whole app.
    const { startTestServer } = await import('./server');
    srv = await startTestServer(database?.name, env);
  });
  afterAll(() => srv?.close());
  const made = () => srv ?? notYet('the file server');
  return {
    get baseUrl() {
      return made().baseUrl;
    },
  };
}

/** The run's shared demo database, read only: what a test compares the service's answers with. */
export function useSharedDemoDatabase(): { readonly knex: Knex } {
  let db: { knex: Knex; close(): Promise<void> } | undefined;
  beforeAll(async () => {
    const [{ openDatabase }, { testConfig }] = await Promise.all([import('../../server/platform/db'), import('./db')]);
    db = await openDatabase(testConfig(), { database: inject('demoDatabase') });
  });
  afterAll(() => db?.close());
  return { knex: standIn(() => (db ?? notYet('the shared demo database')).knex) };
}

/** A database of the file's own with the demo data (it may write) and the service on it. */
export function useDemoCopy(env: Record<string, string> = {}): { db: FileDatabase; knex: Knex; srv: FileServer } {
  const db = useFileDatabase({ demo: true });
  return { db, knex: db.knex, srv: useFileServer(db, env) };
}

/** The viewer in headless Chromium, logged in (default admin), opened on the file's server once the map is idle; closed after the file's tests. */
export function useViewer(server: FileServer, opts: ViewerOptions = {}): Omit<Viewer, 'close'> {
  let viewer: Viewer | undefined;
  beforeAll(async () => {
    const { openViewer } = await import('./browser');
    viewer = await openViewer(server.baseUrl, opts);
  });
  afterAll(() => viewer?.close());
  const made = () => viewer ?? notYet('the viewer');
  return {
    get browser() {
      return made().browser;
    },
    get page() {
      return made().page;
    },
    get problems() {
      return made().problems;
    },
  };
}

function notYet(what: string): never {
  throw new Error(`${what} is used before its beforeAll ran (call it at the top of the file or describe block)`);
}

/** A knex that sends every call and property on to the one `real()` gives at the time of use. */
function standIn(real: () => Knex): Knex {
  return new Proxy((() => undefined) as unknown as Knex, {
    apply: (_target, _this, args: unknown[]) => (real() as unknown as (...a: unknown[]) => unknown)(...args),
    get: (_target, p) => {
      const k = real();
      const v: unknown = Reflect.get(k, p, k);
      return typeof v === 'function' ? v.bind(k) : v;
    },
    has: (_target, p) => p in real(),
  });
}
