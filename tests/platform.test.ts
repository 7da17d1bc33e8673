import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../server/platform/config';
import { startEmbeddedCluster } from '../server/platform/embedded-pg';
import { geoJsonProblems } from '../server/platform/geojson';
import { quoteIdent } from '../server/platform/sql';

describe('configuration', () => {
  it('has documented defaults', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.ONEMAP_ITEMS_DEFAULT_LIMIT).toBe(100);
    expect(c.DATABASE_URL).toBeUndefined();
  });

  it('stops with one message naming every invalid or unknown setting', () => {
    expect(() => loadConfig({ PORT: 'eighty', ONEMAP_TILE_CACHE_MB: '-1', ONEMAP_COLOUR: 'red' })).toThrow(/PORT="eighty"[\s\S]*ONEMAP_TILE_CACHE_MB="-1"[\s\S]*ONEMAP_COLOUR: unknown setting/);
  });

  it('refuses a default page size above the maximum', () => {
    expect(() => loadConfig({ ONEMAP_ITEMS_DEFAULT_LIMIT: '500', ONEMAP_ITEMS_MAX_LIMIT: '100' })).toThrow(/must not exceed/);
  });
});

describe('SQL identifiers', () => {
  it('quotes plain names and refuses anything else', () => {
    expect(quoteIdent('landuse_plan')).toBe('"landuse_plan"');
    for (const bad of ['a"b', 'Robert); DROP TABLE x;--', '', 'UPPER', '1abc']) expect(() => quoteIdent(bad)).toThrow(/not a safe SQL identifier/);
  });
});

/** SIGKILLs every process whose command line names the folder (pkill's exit 1 means none was left). */
function killAll(folder: string) {
  try {
    execFileSync('pkill', ['-9', '-f', folder]);
  } catch (err) {
    if ((err as { status?: number }).status !== 1) throw err;
  }
}

describe('embedded PostgreSQL cluster', () => {
  it('initialises once, is reused by a second start, and recovers from a crash that left postmaster.pid behind', async () => {
    if (process.env.DATABASE_URL) return expect(process.env.DATABASE_URL).toBeTruthy(); // the embedded cluster is not used then
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-pg-'));
    const opts = { dataDir, port: 54377, database: 'crash_test' };
    const first = await startEmbeddedCluster(opts);
    try {
      expect(first.startedHere).toBe(true);
      const second = await startEmbeddedCluster(opts);
      expect(second.startedHere).toBe(false); // reused, and so not stopped by the second owner
      await second.stop();

      // Crash: kill the postmaster with SIGKILL; its postmaster.pid stays behind.
      const pgdata = fs.readdirSync(dataDir).find((d) => /^pg\d+$/.test(d))!;
      const pidFile = path.join(dataDir, pgdata, 'postmaster.pid');
      const pid = Number(fs.readFileSync(pidFile, 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 50; i++) {
        try {
          process.kill(pid, 0);
          await new Promise((r) => setTimeout(r, 100));
        } catch {
          break;
        }
      }
      // Children may linger for a moment after the postmaster dies.
      killAll(path.join(dataDir, pgdata));
      await new Promise((r) => setTimeout(r, 300));
      expect(fs.existsSync(pidFile)).toBe(true);

      const third = await startEmbeddedCluster(opts);
      expect(third.startedHere).toBe(true);
      const c = new pg.Client(third.connection);
      await c.connect();
      expect((await c.query('SELECT current_database() AS d')).rows[0].d).toBe('crash_test');
      await c.end();
      await third.stop();
      expect(fs.existsSync(pidFile)).toBe(false); // stopped cleanly
    } finally {
      await first.stop().catch(() => undefined);
      killAll(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('GeoJSON structure checks', () => {
  it('accepts the district boundaries as delivered', () => {
    const fc = JSON.parse(fs.readFileSync(path.join(__dirname, '../layers/base/datong-districts-2015.geojson'), 'utf8'));
    expect(geoJsonProblems(fc)).toEqual([]);
  });

  it('reports every problem of a broken feature, with where it is', () => {
    const broken = { type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [[[113, 40], [113.1, 40.1]]] } };
    const problems = geoJsonProblems(broken, 'site.geojson');
    expect(problems.length).toBeGreaterThanOrEqual(2);
    expect(problems.every((p) => p.startsWith('site.geojson: '))).toBe(true);
    expect(problems.join('\n')).toMatch(/first and last positions must be equivalent/);
  });
});
