// The large SQL statements of detection live in server/conflicts/sql/*.sql, where they read as
// SQL and carry their comments. A file holds named statements, each headed by a line
// `-- name: <name>`; its comment lines are for the reader and are not sent. Statements take knex's
// named bindings (`:layer`): values are bound, and identifiers (layer tables, from the registry
// through platform/sql.ts) or fixed fragments are passed as knex.raw(…) values.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sql');

/** The statements of sql/<file>.sql by name, read once; throws at load when one of `names` is missing. */
export function statements<N extends string>(file: string, names: readonly N[]): Record<N, string> {
  const text = fs.readFileSync(path.join(DIR, `${file}.sql`), 'utf8');
  const found = new Map<string, string>();
  for (const part of text.split(/^-- name: /m).slice(1)) {
    const [head, ...lines] = part.split('\n');
    found.set(head.trim(), lines.filter((l) => !/^\s*--/.test(l)).join('\n').trim());
  }
  const missing = names.filter((n) => !found.get(n));
  if (missing.length) throw new Error(`server/conflicts/sql/${file}.sql: no statement named ${missing.join(', ')}`);
  return Object.fromEntries(names.map((n) => [n, found.get(n)!])) as Record<N, string>;
}
