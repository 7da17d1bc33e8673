// Typed values from text: the one place that says what an integer, a number, a boolean and a date
// are, for query parameters, OGC API attribute filters, imported attributes and request bodies.
// Each parser returns the value or undefined; callers say what was expected (see `expected`).

/** 2^31 − 1: the range of a PostgreSQL integer column. */
export const INT32 = 2_147_483_647;

/** What each parser accepts, for messages ("expected a date YYYY-MM-DD that exists"). */
export const expected = {
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
  date: 'a date YYYY-MM-DD that exists',
} as const;

/** A whole number written in decimal digits (optionally signed; `.0` allowed when `lenient`), within the safe range. */
export function parseInteger(raw: unknown, opts: { lenient?: boolean } = {}): number | undefined {
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const s = raw.trim();
  if (!(opts.lenient ? /^[+-]?\d+(\.0*)?$/ : /^-?\d+$/).test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** A finite number (decimal or exponent notation); empty text is not a number. */
export function parseNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/** `true` / `false`; with `words`, also 1/0, yes/no, y/n, t/f, 是/否 (as spreadsheets and dBase write them). */
export function parseBoolean(raw: unknown, opts: { words?: boolean } = {}): boolean | undefined {
  if (typeof raw === 'boolean') return raw;
  const k = String(raw).trim().toLowerCase();
  if (k === 'true') return true;
  if (k === 'false') return false;
  if (!opts.words) return undefined;
  if (['1', 'yes', 'y', 't', '是'].includes(k)) return true;
  if (['0', 'no', 'n', 'f', '否'].includes(k)) return false;
  return undefined;
}

/**
 * A calendar date as YYYY-MM-DD that exists (2024-02-30 does not, so PostgreSQL never sees it).
 * With `lenient`, also 2015/6/1, 2015.06.01 and 20150601 as deliveries write them.
 */
export function parseDate(raw: unknown, opts: { lenient?: boolean } = {}): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const m = (opts.lenient ? /^(\d{4})[-/.]?(\d{1,2})[-/.]?(\d{1,2})$/ : /^(\d{4})-(\d{2})-(\d{2})$/).exec(raw.trim());
  if (!m) return undefined;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return undefined;
  return t.toISOString().slice(0, 10);
}
