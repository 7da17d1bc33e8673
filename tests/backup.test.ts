// `npm run backup` / `npm run restore` (server/platform/backup.ts) as an operator runs them, on a
// copy of the demo with its conflict run, ledger and applications: the restored database verifies
// its audit chain, ends at the head the backup recorded (not at what was written after it), and
// serves the same features, cases and applications; a damaged backup and an existing database are
// refused with nothing restored.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRules } from '../server/conflicts/rules';
import { loadDemoApplications } from '../server/demo/applications';
import { loadRegistry } from '../server/layers/registry';
import { PROJECT_ROOT } from '../server/platform/config';
import { as } from './helpers/auth';
import { dropTestDatabase, freshName, testConfig } from './helpers/db';
import { startTestServer, type TestServer } from './helpers/server';
import { useDemoCopy } from './helpers/setup';

const { db, knex, srv } = useDemoCopy();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-backup-'));
const restored = freshName('onemap_restored');
afterAll(async () => {
  fs.rmSync(dir, { recursive: true, force: true });
  await dropTestDatabase(restored);
});

/** The CLI as `npm run backup` / `npm run restore` runs it, on the file's database. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'server/platform/cli-backup.ts', ...args], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ONEMAP_DB_NAME: db.name, LOG_LEVEL: 'warn' },
      timeout: 240_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const databases = async () => {
  const c = new pg.Client({ host: `${testConfig().ONEMAP_DATA_DIR}/run`, port: testConfig().ONEMAP_PG_PORT, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    return (await c.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((r) => r.datname);
  } finally {
    await c.end();
  }
};

/** What the service answers for the features, cases and applications (its own moments and address left out). */
async function answers(base: string, headers: Record<string, string>) {
  const text = async (p: string) => {
    const res = await fetch(base + p, { headers });
    expect(res.status, p).toBe(200);
    return (await res.text()).replace(/"timeStamp":"[^"]+",?/g, '').replaceAll(base, 'http://service');
  };
  return {
    features: await text('/ogcapi/collections/landuse_plan/items?limit=200'),
    pv: await text('/ogcapi/collections/pv_sites/items?limit=200'),
    cases: await text('/api/conflicts/cases?limit=200'),
    applications: await text('/api/applications'),
  };
}

let file: string;
let manifest: any;
let before: Awaited<ReturnType<typeof answers>>;
let headers: Record<string, string>;

beforeAll(async () => {
  const registry = loadRegistry();
  await loadDemoApplications(knex, registry, loadRules(registry));
  headers = await as(knex, 'admin');
}, 120_000);

describe('npm run backup', () => {
  it('dumps the database and writes the manifest: SHA-256, the verified audit head, the counts', async () => {
    before = await answers(srv.baseUrl, headers);
    file = path.join(dir, 'onemap.dump');
    const r = await cli('backup', '--out', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('audit chain verified');
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'onemap.json'), 'utf8'));
    const { rows } = await knex.raw('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1');
    expect(manifest.audit).toMatchObject({ ok: true, head: { id: Number(rows[0].id), hash: rows[0].hash } });
    expect(manifest.dump.size).toBe(fs.statSync(file).size);
    expect(manifest.counts.layers.landuse_plan).toBe(Number((await knex.raw('SELECT count(*) AS n FROM plan.landuse_plan')).rows[0].n));
    expect(manifest.counts.conflictCases).toBeGreaterThan(0);
    expect(manifest.counts.applications).toBeGreaterThan(0);
    expect(manifest.migration).toMatch(/^\d+_\w+\.ts$/);
  }, 240_000);
});

describe('npm run restore', () => {
  it('refuses a damaged backup and restores nothing', async () => {
    const bad = path.join(dir, 'damaged.dump');
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] ^= 0xff;
    fs.writeFileSync(bad, bytes);
    fs.copyFileSync(path.join(dir, 'onemap.json'), path.join(dir, 'damaged.json'));
    const r = await cli('restore', bad, '--database', restored);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the backup is damaged');
    expect((await databases()).filter((d) => d.startsWith(restored))).toEqual([]);
  }, 240_000);

  it('restores into a new database that verifies its chain, ends at the recorded head and serves the same answers', async () => {
    // Written after the backup: not in the restored database.
    await knex.raw("SELECT audit_append('test', 'test.after_backup', 'backup.test', '{}'::jsonb)");
    const r = await cli('restore', file, '--database', restored);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`head #${manifest.audit.head.id}`);
    expect((await databases()).filter((d) => d.startsWith(`${restored}_restore_`))).toEqual([]);
    let other: TestServer | undefined;
    try {
      other = await startTestServer(restored);
      const verify = await (await fetch(`${other.baseUrl}/api/audit/verify`, { headers })).json();
      expect(verify).toMatchObject({ ok: true, head: manifest.audit.head, entries: manifest.audit.entries });
      expect(await answers(other.baseUrl, headers)).toEqual(before);
    } finally {
      await other?.close();
    }
  }, 240_000);

  it('refuses to overwrite an existing database unless asked, and replaces it with --replace', async () => {
    const refused = await cli('restore', file, '--database', restored);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`database '${restored}' exists`);
    const replaced = await cli('restore', file, '--database', restored, '--replace');
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain('(replaced)');
  }, 240_000);
});
