// The database code: migrations/functions/*.sql is the current definition of every function and
// trigger, applied after the migrations on every start (server/platform/db.ts, applyDatabaseCode).
// Checked here: a fresh database holds exactly the files' functions, nothing is defined only in a
// migration, a start with unchanged files rewrites nothing, several starts at once take turns, and
// a failing file stops the start naming itself.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDatabaseCode, DATABASE_CODE, migrate, openDatabase, type Database } from '../server/platform/db';
import { testConfig, useTestDatabase } from './helpers/db';

interface DefinedFunction {
  file: string;
  name: string;
  language: string;
  body: string;
}

/** The files of a database code folder, in the order they are applied. */
const codeFiles = (dir = DATABASE_CODE) =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => ({ file, sql: fs.readFileSync(path.join(dir, file), 'utf8') }));

/** Every CREATE OR REPLACE FUNCTION of the folder: its name, language and the body between its dollar quotes. */
function definedFunctions(): DefinedFunction[] {
  const found: DefinedFunction[] = [];
  const create = /CREATE\s+OR\s+REPLACE\s+FUNCTION\s+(?:\w+\.)?(\w+)\s*\(([\s\S]*?)\bAS\s+(\$\w*\$)([\s\S]*?)\3/gi;
  for (const { file, sql } of codeFiles()) {
    for (const m of sql.matchAll(create)) {
      const language = /\bLANGUAGE\s+(\w+)/i.exec(m[2])?.[1].toLowerCase();
      if (!language) throw new Error(`${file}: function ${m[1]} names no LANGUAGE before its body`);
      found.push({ file, name: m[1], language, body: m[4] });
    }
  }
  return found;
}


let db: Awaited<ReturnType<typeof useTestDatabase>>;
beforeAll(async () => {
  db = await useTestDatabase();
});
afterAll(async () => {
  await db?.close();
});

interface DbFunction {
  oid: number;
  xmin: string;
  name: string;
  language: string;
  body: string;
}

/** The functions of schemas public and plan that no extension (PostGIS) brought. */
async function databaseFunctions(): Promise<DbFunction[]> {
  const { rows } = await db.knex.raw<{ rows: DbFunction[] }>(`
    SELECT p.oid::integer AS oid, p.xmin::text AS xmin, p.proname AS name, l.lanname AS language, p.prosrc AS body
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      JOIN pg_language l ON l.oid = p.prolang
     WHERE n.nspname IN ('public', 'plan')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     ORDER BY p.proname, p.oid`);
  return rows;
}

/** What a start could have rewritten: the functions' and triggers' catalogue rows and the record of the files. */
async function catalogue() {
  const triggers = await db.knex.raw(`SELECT oid::integer AS oid, xmin::text AS xmin, tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY oid`);
  const recorded = await db.knex('database_code').select('file', 'sha256', 'applied_at').orderBy('file');
  return { functions: await databaseFunctions(), triggers: triggers.rows, recorded };
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

describe('the database code of a fresh database', () => {
  it('holds every function of migrations/functions/*.sql, in its language, with exactly the body of its file', async () => {
    const defined = definedFunctions();
    expect(defined.length).toBeGreaterThan(10);
    const inDb = await databaseFunctions();
    for (const f of defined) {
      const found = inDb.filter((d) => d.name === f.name);
      expect(found.map((d) => d.language), `${f.file}: ${f.name}`).toEqual([f.language]);
      expect(found[0].body, `${f.file}: ${f.name}`).toBe(f.body);
    }
    // One definition per function: two files (or one file twice) defining it would leave one of them untrue.
    const names = defined.map((f) => f.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('defines nowhere but in the folder any function of its own (those of extensions aside)', async () => {
    const defined = new Set(definedFunctions().map((f) => f.name));
    const onlyInMigrations = (await databaseFunctions()).map((f) => f.name).filter((n) => !defined.has(n));
    expect(onlyInMigrations).toEqual([]);
  });

  it('has every trigger function of its triggers in the folder', async () => {
    const defined = new Set(definedFunctions().map((f) => f.name));
    const { rows } = await db.knex.raw<{ rows: { tgname: string; fn: string }[] }>(
      `SELECT t.tgname, p.proname AS fn FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid WHERE NOT t.tgisinternal ORDER BY t.tgname`,
    );
    expect(rows.length).toBeGreaterThan(17); // one per plan layer table, and the audit and snapshot triggers
    expect(rows.filter((r) => !defined.has(r.fn))).toEqual([]);
  });

  it('records each file with the sha256 of its text', async () => {
    const recorded = await db.knex('database_code').select('file', 'sha256').orderBy('file');
    expect(recorded).toEqual(codeFiles().map(({ file, sql }) => ({ file, sha256: sha256(sql) })));
  });
});

describe('a start on a database whose code is up to date', () => {
  it('changes nothing: no function, trigger or record is rewritten', async () => {
    const before = await catalogue();
    expect(await migrate(db.knex)).toEqual([]);
    expect(await applyDatabaseCode(db.knex)).toEqual([]);
    expect(await catalogue()).toEqual(before);
  });

  it('applies again only a file whose text differs from the one recorded', async () => {
    await db.knex('database_code').where({ file: 'revisions.sql' }).update({ sha256: '0'.repeat(64) });
    const before = new Map((await databaseFunctions()).map((f) => [f.name, f.xmin]));
    expect(await applyDatabaseCode(db.knex)).toEqual(['revisions.sql']);
    const after = new Map((await databaseFunctions()).map((f) => [f.name, f.xmin]));
    expect(after.get('capture_layer_snapshot')).not.toBe(before.get('capture_layer_snapshot'));
    expect(after.get('audit_append')).toBe(before.get('audit_append'));
    const [row] = await db.knex('database_code').where({ file: 'revisions.sql' }).select('sha256');
    expect(row.sha256).toBe(sha256(fs.readFileSync(path.join(DATABASE_CODE, 'revisions.sql'), 'utf8')));
  });
});

describe('several processes starting at once', () => {
  it('take turns: every file is applied once, by one of them, and none fails or deadlocks', async () => {
    const others: Database[] = [];
    try {
      for (let i = 0; i < 3; i++) others.push(await openDatabase(testConfig(), { database: db.name }));
      // As if the files had all changed since the last start.
      await db.knex('database_code').delete();
      const applied = await Promise.all(others.map((o) => applyDatabaseCode(o.knex)));
      expect(applied.flat().sort()).toEqual(codeFiles().map((f) => f.file));
      // Forced (each of them just ran migrations, say), all apply everything, one after the other: the files are idempotent.
      const forced = await Promise.all(others.map((o) => applyDatabaseCode(o.knex, { force: true })));
      for (const list of forced) expect(list).toEqual(codeFiles().map((f) => f.file));
      expect(await Promise.all(others.map((o) => migrate(o.knex)))).toEqual(others.map(() => []));
    } finally {
      for (const o of others) await o.knex.destroy();
    }
  });
});

describe('a failing file', () => {
  it('stops the start with the file, the line and PostgreSQL’s message; the files before it stay applied, it and those after do not', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onemap-code-'));
    try {
      fs.writeFileSync(path.join(dir, '01-first.sql'), 'CREATE OR REPLACE FUNCTION e_code_first() RETURNS integer LANGUAGE sql AS $$ SELECT 1 $$;\n');
      fs.writeFileSync(
        path.join(dir, '02-broken.sql'),
        [
          '-- A file whose second function does not compile.',
          'CREATE OR REPLACE FUNCTION e_code_half() RETURNS integer LANGUAGE sql AS $$ SELECT 2 $$;',
          'CREATE OR REPLACE FUNCTION e_code_broken() RETURNS integer LANGUAGE plpgsql AS $$',
          'BEGIN',
          '  RETRUN 3;',
          'END $$;',
          '',
        ].join('\n'),
      );
      fs.writeFileSync(path.join(dir, '03-after.sql'), 'CREATE OR REPLACE FUNCTION e_code_after() RETURNS integer LANGUAGE sql AS $$ SELECT 4 $$;\n');
      const failed = applyDatabaseCode(db.knex, { dir });
      await expect(failed).rejects.toThrow(/^database code .*02-broken\.sql, line 5: syntax error at or near "RETRUN"/);
      const names = (await databaseFunctions()).map((f) => f.name);
      expect(names).toContain('e_code_first');
      expect(names).not.toContain('e_code_half');
      expect(names).not.toContain('e_code_after');
      const recorded = (await db.knex('database_code').select('file')).map((r) => r.file);
      expect(recorded).toContain('01-first.sql');
      expect(recorded).not.toContain('02-broken.sql');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      await db.knex.raw('DROP FUNCTION IF EXISTS e_code_first()');
      await db.knex('database_code').where({ file: '01-first.sql' }).delete();
    }
  });
});
