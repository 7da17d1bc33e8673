// What every reader shares: the checks made on each feature as it passes (no geometry, duplicate
// ids), options with their defaults, the async iteration wrapper that closes files at the end, a
// text file read whole, and the import that failed before any feature.
import fs from 'node:fs';
import { noCrs } from './crs';
import type { ImportFeature, ImportFormat, ImportLimits, ImportOptions, ImportProblem, ImportSource } from './types';
import { DEFAULT_LIMITS } from './types';

export const limitsOf = (opts: ImportOptions): ImportLimits => ({ ...DEFAULT_LIMITS, ...opts.limits });

/**
 * Per-feature checks, in reading order: a feature without geometry, and an id seen before (the
 * feature's own id, and the caller's `idProperty` when given). Keeps one entry per distinct id.
 */
export function featureChecks(problems: ImportProblem[], opts: ImportOptions) {
  const ids = new Map<string, number>();
  const props = new Map<string, number>();
  return (f: ImportFeature) => {
    if (!f.geometry) problems.push({ code: 'geometry_missing', file: f.file, feature: f.index, message: `feature ${f.index} has no geometry` });
    if (f.id !== undefined && f.id !== null) {
      const key = `${typeof f.id}:${f.id}`;
      const first = ids.get(key);
      if (first !== undefined) problems.push({ code: 'duplicate_id', file: f.file, feature: f.index, message: `feature ${f.index} has the id ${JSON.stringify(f.id)} of feature ${first}` });
      else ids.set(key, f.index);
    }
    if (opts.idProperty) {
      const v = f.properties[opts.idProperty];
      if (v === undefined || v === null || v === '') {
        problems.push({ code: 'duplicate_id', file: f.file, feature: f.index, message: `feature ${f.index} has no value in the id attribute '${opts.idProperty}'` });
      } else {
        const key = String(v);
        const first = props.get(key);
        if (first !== undefined) problems.push({ code: 'duplicate_id', file: f.file, feature: f.index, message: `feature ${f.index} has ${opts.idProperty} = ${JSON.stringify(v)}, as feature ${first} has` });
        else props.set(key, f.index);
      }
    }
  };
}

/** Problems that already explain why no feature came. */
const EXPLAINS_NO_FEATURES = /^(not_spatial|format_truncated|file_empty|file_unreadable|zip_.*|shapefile_.*)$/;

/**
 * Wraps a generator of features so the per-feature checks run on each, `noFeatures` is reported
 * when nothing came, and `close` runs however the iteration ends (finished, broken off, thrown).
 */
export function checkedFeatures(
  gen: () => AsyncGenerator<ImportFeature>,
  problems: ImportProblem[],
  opts: ImportOptions,
  file: string,
  close: () => Promise<void> | void,
): AsyncIterable<ImportFeature> {
  let used = false;
  return {
    async *[Symbol.asyncIterator]() {
      if (used) throw new Error('the features of an import can be read once');
      used = true;
      const check = featureChecks(problems, opts);
      let n = 0;
      try {
        for await (const f of gen()) {
          check(f);
          n++;
          yield f;
        }
        if (n === 0 && !problems.some((p) => EXPLAINS_NO_FEATURES.test(p.code))) {
          problems.push({ code: 'no_features', file, message: 'the file holds no features' });
        }
      } finally {
        await close();
      }
    },
  };
}

/** A date as YYYY-MM-DD (dBase dates arrive as local-time Date objects), or null when invalid. */
export function isoDate(d: Date): string | null {
  if (Number.isNaN(d.getTime())) return null;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

/** An import that failed before any feature: no CRS, no features. */
export function failed(format: ImportSource['format'], problems: ImportProblem[], warnings: ImportProblem[] = []): ImportSource {
  return {
    format,
    crs: noCrs(),
    encoding: { name: 'utf-8', method: 'format' },
    problems,
    warnings,
    bbox: null,
    features: { async *[Symbol.asyncIterator]() {} },
    close: async () => undefined,
  };
}

/**
 * A text format's file read whole (GeoJSON, CSV), or the failed import that says why not: empty,
 * or larger than limits.maxTextBytes (`tooLarge` words it for the format).
 */
export function readWhole(filePath: string, file: string, format: ImportFormat, opts: ImportOptions, tooLarge: (size: number, max: number) => Pick<ImportProblem, 'message' | 'hint'>): { bytes: Buffer } | { failed: ImportSource } {
  const size = fs.statSync(filePath).size;
  const max = limitsOf(opts).maxTextBytes;
  if (size === 0) return { failed: failed(format, [{ code: 'file_empty', file, message: 'the file is empty' }]) };
  if (size > max) return { failed: failed(format, [{ code: 'file_too_large', file, ...tooLarge(size, max) }]) };
  return { bytes: fs.readFileSync(filePath) };
}
