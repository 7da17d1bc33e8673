// One typed, documented configuration schema, read from the environment once at start.
// Unknown ONEMAP_* variables and invalid values stop the start with a message naming them.
import { isIP } from 'node:net';
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
  ONEMAP_READ_DATABASE_URL: {
    schema: z
      .string()
      .min(1)
      .optional()
      .transform((v, ctx) => {
        const urls = (v ?? '').split(',').map((u) => u.trim()).filter(Boolean);
        const bad = urls.filter((u) => !z.string().url().safeParse(u).success);
        if (bad.length) ctx.addIssue({ code: 'custom', message: `not a URL: ${bad.map(redactUrl).join(', ')}` });
        return bad.length ? z.NEVER : urls;
      }),
    doc: 'Streaming replicas of the database to read from (comma-separated PostgreSQL URLs): tiles, OGC API items, identify and the ledger’s lists go to a replica that has replayed what the answer must show (the layer’s data version, the client’s own writes), else to the primary. Writes, credentials and LISTEN stay on the primary.',
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
  ONEMAP_TRUST_PROXY: {
    schema: z.string().min(1).default('loopback').transform((v, ctx) => {
      const t = parseTrustProxy(v);
      if (typeof t === 'string') ctx.addIssue({ code: 'custom', message: t });
      return typeof t === 'string' ? z.NEVER : t.value;
    }),
    doc: "Which proxies in front may tell the client's address and protocol (X-Forwarded-For, X-Forwarded-Proto), passed to Express's `trust proxy`: false (none), true (any: only when the service is reachable through the proxy alone), a hop count (1), or a comma-separated list of addresses, subnets (10.0.0.0/8) and the names loopback, linklocal, uniquelocal. HSTS is sent only on requests that came over TLS as these proxies tell.",
  },
  ONEMAP_MAX_HEADER_BYTES: { schema: int(1024, 1_048_576).default(16_384), doc: 'Largest size of a request’s headers (bytes, Node’s maxHeaderSize); larger answers 431.' },
  ONEMAP_HEADERS_TIMEOUT_MS: { schema: int(1000, 600_000).default(20_000), doc: 'Time a client has to send a request’s headers (ms); slower answers 408 and the connection is closed.' },
  ONEMAP_REQUEST_TIMEOUT_MS: {
    schema: int(1000, 86_400_000).default(900_000),
    doc: 'Time a client has to send a whole request, body included (ms); slower answers 408. 15 min by default: a 512 MiB import over a slow line needs that long.',
  },
  ONEMAP_KEEP_ALIVE_TIMEOUT_MS: { schema: int(0, 600_000).default(5_000), doc: 'How long an idle kept-alive connection stays open (ms).' },
  ONEMAP_LOGIN_FREE_FAILURES_ACCOUNT: { schema: int(1, 1000).default(5), doc: 'Failed logins for one account name (from addresses it has not logged in from) and for one name from one address before delays start.' },
  ONEMAP_LOGIN_FREE_FAILURES_ADDRESS: { schema: int(1, 10_000).default(10), doc: 'Failed logins from one address, for any names, before delays start.' },
  ONEMAP_LOGIN_MAX_DELAY_ACCOUNT_S: {
    schema: int(1, 3600).default(60),
    doc: 'Longest delay (s) an account name gets from failures at other addresses: the most a stranger can keep its owner waiting on a new address (its known addresses are not held up at all).',
  },
  ONEMAP_LOGIN_MAX_DELAY_ADDRESS_S: { schema: int(1, 86_400).default(900), doc: 'Longest delay (s) for one address, and for one name from one address.' },
  ONEMAP_LOGIN_FORGET_AFTER_S: { schema: int(60, 30 * 86_400).default(3600), doc: 'Failures are forgotten (and their rows purged) this long (s) after the last one.' },
  ONEMAP_LOGIN_THROTTLE_MAX_ROWS: { schema: int(100, 10_000_000).default(100_000), doc: 'Most rows the login throttle keeps; beyond it the rows with the fewest failures, least recent first, are purged.' },
  ONEMAP_CHECK_RESPONSES: {
    schema: bool.default(false),
    doc: 'Check every JSON answer against its route contract (the tests turn it on); a mismatch answers 500 naming the problems.',
  },
  LOG_LEVEL: { schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), doc: 'Log level.' },
} as const;

/** Express's `trust proxy` from the setting's text, or the problem with it. */
export function parseTrustProxy(v: string): { value: boolean | number | string[] } | string {
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === 'false') return { value: s === 'true' };
  if (/^\d+$/.test(s)) return Number(s) <= 64 ? { value: Number(s) } : 'a hop count is at most 64';
  const names = s.split(',').map((x) => x.trim()).filter(Boolean);
  const bad = names.filter((n) => {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(n)) return false;
    const [addr, bits, ...rest] = n.split('/');
    const family = isIP(addr);
    if (!family || rest.length) return true;
    if (bits === undefined) return false;
    return !/^\d+$/.test(bits) || Number(bits) > (family === 4 ? 32 : 128);
  });
  if (!names.length || bad.length) return `expected true, false, a hop count or addresses/subnets/loopback/linklocal/uniquelocal; not understood: ${bad.join(', ') || '(empty)'}`;
  return { value: names };
}

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
  if ((out.ONEMAP_HEADERS_TIMEOUT_MS as number) > (out.ONEMAP_REQUEST_TIMEOUT_MS as number)) {
    problems.push('ONEMAP_HEADERS_TIMEOUT_MS must not exceed ONEMAP_REQUEST_TIMEOUT_MS');
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
