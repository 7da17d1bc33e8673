// One typed, documented configuration schema, read from the environment once at start.
// Unknown ONEMAP_* variables and invalid values stop the start with a message naming them.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Project root (the folder holding package.json). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Every setting: env name → schema with its default and doc (the README lists the same). */
export const settings = {
  PORT: { schema: int(0, 65535).default(3000), doc: 'HTTP port of the service (0 picks a free one).' },
  HOST: { schema: z.string().min(1).default('127.0.0.1'), doc: 'Interface to listen on; 0.0.0.0 to serve the network.' },
  DATABASE_URL: {
    schema: z.string().url().optional(),
    doc: 'PostgreSQL + PostGIS (≥ 3.1) to use instead of the embedded cluster.',
  },
  ONEMAP_DATA_DIR: {
    schema: z.string().min(1).default(path.join(PROJECT_ROOT, '.data')),
    doc: 'Folder of the embedded PostgreSQL cluster and its socket (git-ignored).',
  },
  ONEMAP_PG_PORT: { schema: int(1024, 65535).default(54329), doc: 'Port number (socket name) of the embedded cluster.' },
  ONEMAP_PG_BIN: { schema: z.string().optional(), doc: 'Folder of initdb/pg_ctl; default: newest /usr/lib/postgresql/*/bin with PostGIS.' },
  ONEMAP_DB_NAME: { schema: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('onemap'), doc: 'Database name in the embedded cluster.' },
  ONEMAP_DEMO: { schema: bool.default(true), doc: 'Load the Datong demo data set into an empty database at start.' },
  ONEMAP_STATEMENT_TIMEOUT_MS: { schema: int(100, 600_000).default(20_000), doc: 'Per-statement timeout (ms); a timeout answers 503.' },
  ONEMAP_ITEMS_DEFAULT_LIMIT: { schema: int(1, 10_000).default(100), doc: 'OGC API items: default page size.' },
  ONEMAP_ITEMS_MAX_LIMIT: { schema: int(1, 100_000).default(10_000), doc: 'OGC API items: largest page size accepted.' },
  ONEMAP_TILE_CACHE_MB: { schema: int(0, 8192).default(256), doc: 'In-memory tile cache size (MiB); 0 turns it off.' },
  ONEMAP_UPLOAD_MAX_MB: { schema: int(1, 65_536).default(512), doc: 'Largest file accepted by the import upload (MiB); larger answers 413.' },
  ONEMAP_ARCHIVE_MINZOOM: { schema: int(0, 16).default(8), doc: 'Release archives (成果包): lowest zoom of their vector tiles.' },
  ONEMAP_ARCHIVE_MAXZOOM: { schema: int(0, 16).default(14), doc: 'Release archives: highest zoom of their vector tiles (MapLibre over-zooms beyond it); 16 for survey detail, about 16× the tiles of 14.' },
  ONEMAP_ARCHIVE_CONCURRENCY: { schema: int(1, 64).default(4), doc: 'Release archives: tiles rendered at once, each on a pooled connection.' },
  ONEMAP_PUBLIC_URL: { schema: z.string().url().optional(), doc: 'Base URL used in links; default: from the request.' },
  ONEMAP_CHECK_RESPONSES: {
    schema: bool.default(false),
    doc: 'Check every JSON answer against its route contract (the tests turn it on); a mismatch answers 500 naming the problems.',
  },
  LOG_LEVEL: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), doc: 'Log level.' },
} as const;

type Settings = typeof settings;
export type Config = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

/** Reads and validates the configuration; throws one error listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, { schema }] of Object.entries(settings)) {
    const raw = env[name] === '' ? undefined : env[name];
    const parsed = (schema as z.ZodType).safeParse(raw);
    if (parsed.success) out[name] = parsed.data;
    else problems.push(`${name}=${JSON.stringify(raw)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  for (const name of Object.keys(env)) {
    if (name.startsWith('ONEMAP_') && !(name in settings)) problems.push(`${name}: unknown setting (known: ${Object.keys(settings).filter((k) => k.startsWith('ONEMAP_')).join(', ')})`);
  }
  if (out.ONEMAP_ITEMS_DEFAULT_LIMIT as number > (out.ONEMAP_ITEMS_MAX_LIMIT as number)) {
    problems.push('ONEMAP_ITEMS_DEFAULT_LIMIT must not exceed ONEMAP_ITEMS_MAX_LIMIT');
  }
  if (problems.length) throw new Error(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return out as Config;
}

/** A connection string with its password replaced, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
