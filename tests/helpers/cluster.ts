// PostgreSQL clusters of a test's own, beside the run's shared one: for the tests that stop,
// restart or replicate a server (a restart of the shared cluster would break every other file).
// Each lives in a temporary folder on its own socket and port; destroy() stops it and removes it.
//
//   const primary = await privateCluster();                 // initdb + start (~3 s), database 'onemap'
//   await primary.restart();                                 // pg_ctl restart -m fast
//   const replica = await primary.streamingReplica();        // pg_basebackup -R of it, started, streaming
//   await replica.caughtUp(primary);                         // replay position ≥ the primary's WAL position
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { findPgBin, pgTool, startEmbeddedCluster } from '../../server/platform/embedded-pg';

export interface PrivateCluster {
  /** The cluster's folder (its data directory is `pgdata`). */
  readonly dir: string;
  readonly pgdata: string;
  readonly port: number;
  /** The socket folder: the host of a connection. */
  readonly host: string;
  /** A DATABASE_URL for the service (unix socket), for the named database. */
  url(database?: string): string;
  /** A client connected as postgres to the named database (the caller ends it). */
  client(database?: string): Promise<pg.Client>;
  /** pg_ctl stop -m fast (the server refuses connections until start()). */
  stop(): Promise<void>;
  start(): Promise<void>;
  restart(): Promise<void>;
  /** A new cluster made by pg_basebackup -R from this one, started as its hot standby. */
  streamingReplica(): Promise<PrivateCluster>;
  /** Waits until this standby has replayed everything the primary has written so far. */
  caughtUp(primary: PrivateCluster, timeoutMs?: number): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
}

let nextPort = 55400 + (process.pid % 200) * 2;

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** A new cluster with PostGIS available and the database `onemap` created. */
export async function privateCluster(database = 'onemap'): Promise<PrivateCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-cluster-'));
  if (isRoot()) fs.chmodSync(dir, 0o755);
  const port = nextPort++;
  await startEmbeddedCluster({ dataDir: dir, port, database });
  const pgdata = path.join(dir, `pg${path.basename(path.dirname(findPgBin()))}`);
  // Streaming replication from the socket: one sender is enough; keep WAL for a slow standby.
  fs.appendFileSync(path.join(pgdata, 'postgresql.conf'), "\nwal_keep_size = '256MB'\nshared_buffers = 128MB\n");
  const cluster = handle(dir, pgdata, port);
  await cluster.restart();
  return cluster;
}

function handle(dir: string, pgdata: string, port: number): PrivateCluster {
  const bin = findPgBin();
  const host = path.join(dir, 'run');
  const log = path.join(dir, 'postgresql.log');
  const ctl = (...args: string[]) => pgTool(bin, 'pg_ctl', [...args, '-D', pgdata, '-w', '-t', '120']);
  const self: PrivateCluster = {
    dir,
    pgdata,
    port,
    host,
    url: (database = 'onemap') => `postgresql://postgres@localhost/${database}?host=${encodeURIComponent(host)}&port=${port}`,
    async client(database = 'onemap') {
      const c = new pg.Client({ host, port, user: 'postgres', database });
      await c.connect();
      return c;
    },
    stop: async () => void (await ctl('stop', '-m', 'fast')),
    start: async () => void (await ctl('start', '-l', log, '-o', `-p ${port} -k ${host}`)),
    restart: async () => void (await ctl('restart', '-m', 'fast', '-l', log, '-o', `-p ${port} -k ${host}`)),
    async streamingReplica() {
      const rdir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-replica-'));
      const rdata = path.join(rdir, path.basename(pgdata));
      const rrun = path.join(rdir, 'run');
      fs.mkdirSync(rrun, { mode: 0o700 });
      fs.writeFileSync(path.join(rdir, 'postgresql.log'), '');
      if (isRoot()) {
        fs.chmodSync(rdir, 0o755);
        for (const p of [rrun, path.join(rdir, 'postgresql.log')]) fs.chownSync(p, ...postgresIds());
        fs.chownSync(rdir, ...postgresIds());
      }
      // -R writes standby.signal and primary_conninfo (the primary's socket); -X stream copies the WAL too.
      await pgTool(bin, 'pg_basebackup', ['-h', host, '-p', String(port), '-U', 'postgres', '-D', rdata, '-R', '-X', 'stream', '-c', 'fast']);
      const replica = handle(rdir, rdata, nextPort++);
      // The copied configuration names the primary's socket folder: the standby gets its own.
      fs.appendFileSync(path.join(rdata, 'postgresql.conf'), `\nunix_socket_directories = '${rrun}'\nhot_standby = on\n`);
      await replica.start();
      return replica;
    },
    async caughtUp(primary, timeoutMs = 30_000) {
      const p = await primary.client('postgres');
      const r = await self.client('postgres');
      try {
        const target = (await p.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn;
        const until = Date.now() + timeoutMs;
        for (;;) {
          const { rows } = await r.query<{ behind: boolean }>('SELECT pg_last_wal_replay_lsn() < $1::pg_lsn AS behind', [target]);
          if (!rows[0].behind) return;
          if (Date.now() > until) throw new Error(`standby on port ${self.port} has not replayed ${target} within ${timeoutMs} ms`);
          await new Promise((res) => setTimeout(res, 50));
        }
      } finally {
        await p.end();
        await r.end();
      }
    },
    async destroy() {
      await ctl('stop', '-m', 'immediate').catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

function postgresIds(): [number, number] {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'))!;
  const [, , uid, gid] = line.split(':');
  return [Number(uid), Number(gid)];
}
