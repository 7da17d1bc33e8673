// Query-parameter parsing: every value is parsed and range-checked before use, and a bad one
// becomes a 400 naming the parameter, what was expected and what came.
import { badRequest, messages } from './errors';

type Query = Record<string, unknown>;

/** Refuses a query parameter that is not one of `allowed` (400 unknown_parameter, naming it and the allowed ones). */
export function onlyParams(query: Query, allowed: readonly string[]): void {
  for (const k of Object.keys(query)) {
    if (!allowed.includes(k)) throw badRequest('unknown_parameter', messages.unknownParam(k, [...allowed]), { parameter: k });
  }
}

/** The single string value of a parameter (a repeated parameter is refused). */
export function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw badRequest('invalid_parameter', messages.badParam(name, 'a single value', v), { parameter: name });
  return v;
}

/** An integer in [min, max], or the default when absent. */
export function intParam(query: Query, name: string, min: number, max: number, dflt?: number): number | undefined {
  const raw = single(query, name);
  if (raw === undefined) return dflt;
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw badRequest('invalid_parameter', messages.badParam(name, `an integer from ${min} to ${max}`, raw), { parameter: name, min, max });
  }
  return n;
}

/** A finite number in [min, max]. */
export function numberParam(query: Query, name: string, min: number, max: number): number | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw badRequest('invalid_parameter', messages.badParam(name, `a number from ${min} to ${max}`, raw), { parameter: name, min, max });
  }
  return n;
}

/** A list of 4 finite numbers (x1,y1,x2,y2 in the stated axis order) with x1 ≤ x2 and y1 ≤ y2. */
export function bboxParam(query: Query, name: string): [number, number, number, number] | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (parts.length === 6) throw badRequest('invalid_parameter', messages.badParam(name, '4 numbers (3D bbox is not supported)', raw), { parameter: name });
  if (parts.length !== 4 || parts.some((n) => !Number.isFinite(n))) {
    throw badRequest('invalid_parameter', messages.badParam(name, '4 comma-separated numbers minx,miny,maxx,maxy', raw), { parameter: name });
  }
  const [a, b, c, d] = parts;
  if (a > c || b > d) throw badRequest('invalid_parameter', messages.badParam(name, 'min ≤ max on both axes', raw), { parameter: name });
  return [a, b, c, d];
}
