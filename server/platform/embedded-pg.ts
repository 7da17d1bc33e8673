// The embedded database: a project-private PostgreSQL + PostGIS cluster in ONEMAP_DATA_DIR.
// initdb once (as an unprivileged user: initdb refuses root), pg_ctl on its own socket folder and
// port, no TCP listener, reused by the next start, stopped by whoever started it, and a stale
// postmaster.pid left by a crash is cleared before starting.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { log } from './log';
import { quoteIdent } from './sql';

const run = promisify(execFile);

export interface EmbeddedCluster {
  /** Connection settings for node-postgres (unix socket). */
  connection: { host: string; port: number; user: string; database: string };
  /** True when this process started the server (and so stops it). */
  startedHere: boolean;
  stop(): Promise<void>;
}

interface Options {
  dataDir: string;
  port: number;
  binDir?: string;
  database: string;
}

/** Newest /usr/lib/postgresql/N/bin whose share folder has PostGIS. */
export function findPgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => +b - +a) : [];
  for (const v of versions) {
    if (fs.existsSync(`/usr/share/postgresql/${v}/extension/postgis.control`) && fs.existsSync(`${root}/${v}/bin/pg_ctl`)) return `${root}/${v}/bin`;
  }
  throw new Error('PostgreSQL with PostGIS not found: install it with `sudo apt-get install -y postgresql-15-postgis-3`, or set DATABASE_URL');
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Runs a PostgreSQL tool as the cluster owner (postgres when we are root, else ourselves). */
export async function pgTool(binDir: string, tool: string, args: string[]) {
  const exe = path.join(binDir, tool);
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', exe, ...args]] : [exe, args];
  return run(cmd, argv, { env: { ...process.env, LC_ALL: 'C.UTF-8' }, maxBuffer: 16 << 20 });
}

function chownToPostgres(p: string) {
  if (!isRoot()) return;
  const { uid, gid } = postgresIds();
  fs.chownSync(p, uid, gid);
}

function postgresIds(): { uid: number; gid: number } {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root needs the system user "postgres" (from Debian\'s postgresql package) to own the cluster');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function status(binDir: string, pgdata: string): Promise<'running' | 'stopped'> {
  try {
    await pgTool(binDir, 'pg_ctl', ['status', '-D', pgdata]);
    return 'running';
  } catch {
    return 'stopped';
  }
}

/** Starts (or reuses) the embedded cluster and makes sure the database exists. */
export async function startEmbeddedCluster(opts: Options): Promise<EmbeddedCluster> {
  const binDir = opts.binDir ?? findPgBin();
  const version = path.basename(path.dirname(binDir));
  const pgdata = path.join(opts.dataDir, `pg${version}`);
  const sockDir = path.join(opts.dataDir, 'run');
  fs.mkdirSync(opts.dataDir, { recursive: true });
  chownToPostgres(opts.dataDir); // the cluster owner must reach its folders
  fs.mkdirSync(sockDir, { recursive: true, mode: 0o700 });
  chownToPostgres(sockDir);

  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    // initdb into a temporary folder and rename it: a crash mid-way never leaves a half cluster behind.
    const tmp = `${pgdata}.init-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { mode: 0o700 });
    chownToPostgres(tmp);
    log.info({ pgdata }, 'embedded database: initdb (first start)');
    await pgTool(binDir, 'initdb', ['-D', tmp, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
    fs.appendFileSync(
      path.join(tmp, 'postgresql.conf'),
      [
        '',
        '# onemap embedded cluster: unix socket only, in the project data folder',
        "listen_addresses = ''",
        `unix_socket_directories = '${sockDir}'`,
        'shared_buffers = 512MB',
        'work_mem = 32MB',
        'maintenance_work_mem = 256MB',
        'max_connections = 200',
        'jit = off',
        "logging_collector = off",
        '',
      ].join('\n'),
    );
    fs.renameSync(tmp, pgdata);
  }

  let startedHere = false;
  if ((await status(binDir, pgdata)) === 'stopped') {
    const pidFile = path.join(pgdata, 'postmaster.pid');
    if (fs.existsSync(pidFile)) {
      // pg_ctl says no server runs on this data folder: the pid file is left from a crash.
      log.warn({ pidFile }, 'embedded database: removing stale postmaster.pid');
      fs.rmSync(pidFile);
    }
    for (const f of fs.readdirSync(sockDir)) if (f.startsWith('.s.PGSQL.')) fs.rmSync(path.join(sockDir, f), { force: true });
    const logFile = path.join(opts.dataDir, 'postgresql.log');
    if (!fs.existsSync(logFile)) fs.writeFileSync(logFile, '');
    chownToPostgres(logFile);
    try {
      await pgTool(binDir, 'pg_ctl', ['start', '-D', pgdata, '-w', '-t', '120', '-l', logFile, '-o', `-p ${opts.port} -k ${sockDir}`]);
      startedHere = true;
      log.info({ pgdata, port: opts.port }, 'embedded database: started');
    } catch (err) {
      // Another process may have started it at the same moment: then reuse it.
      if ((await status(binDir, pgdata)) !== 'running') {
        const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
        throw new Error(`embedded database failed to start: ${(err as Error).message}\n${tail}`);
      }
    }
  } else {
    log.info({ pgdata }, 'embedded database: already running, reusing it');
  }

  const connection = { host: sockDir, port: opts.port, user: 'postgres', database: opts.database };
  await ensureDatabase(connection.host, connection.port, opts.database);
  return {
    connection,
    startedHere,
    async stop() {
      if (!startedHere || (await status(binDir, pgdata)) !== 'running') return;
      // Another process that reused the cluster (a test run beside `npm start`, a CLI) may still
      // be working in it: then leave it running for them; the next start reuses it.
      // (A client that just disconnected may linger in pg_stat_activity for a moment: look a few times.)
      let others = 0;
      for (let i = 0; i < 10; i++) {
        others = await otherClients(connection.host, connection.port).catch(() => 0);
        if (others === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      if (others > 0) {
        log.info({ others }, 'embedded database: other clients still connected, leaving it running');
        return;
      }
      await pgTool(binDir, 'pg_ctl', ['stop', '-D', pgdata, '-m', 'fast', '-w', '-t', '60']).catch((err) => log.error({ err }, 'embedded database: stop failed'));
      log.info('embedded database: stopped');
    },
  };
}

/** Client connections to the cluster other than the one asking. */
async function otherClients(host: string, port: number): Promise<number> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ host, port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    const r = await client.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
    return r.rows[0].n as number;
  } finally {
    await client.end();
  }
}

/** CREATE DATABASE when missing (connected to the maintenance database). */
async function ensureDatabase(host: string, port: number, database: string) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ host, port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${quoteIdent(database)}`);
  } catch (err) {
    // 42P04: created concurrently by another process.
    if ((err as { code?: string }).code !== '42P04') throw err;
  } finally {
    await client.end();
  }
}
