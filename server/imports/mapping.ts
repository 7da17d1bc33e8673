// A delivered feature's properties as the layer stores them: which property of the file is the
// class code and which is each attribute of the registry (once per set of property names), the
// class code checked against the layer's classification, and every attribute typed (integer,
// number, date, boolean through the platform's one set of typed values, in the lenient forms that
// spreadsheets and dBase files write). What does not fit is a problem of the report, with where.
import iconv from 'iconv-lite';
import type { Attribute, Layer } from '../layers/registry';
import { INT32, parseBoolean, parseDate, parseInteger, parseNumber } from '../platform/values';
import { importMessages as m } from './messages';
import type { Problem, Warning } from './schemas';
import type { ImportFeature } from './types';

/** Property names that hold the class code when there is no `code` (compared case-insensitively). */
const CODE_ALIASES = ['code', 'class_code', 'classcode', '分类代码', '分类编码', '地类编码', '地类代码', 'dlbm', '用途代码', '用途编码', '用途', 'ytdm', '类别代码', '类型代码'];

/** Where the mapper reports: problems (counted and kept by the report) and notes. */
export interface Findings {
  problem(p: Problem): void;
  warnings: Warning[];
}

/** The properties of one feature as stored, and who it is for the report. */
export interface Mapped {
  /** `code` and the registry attributes, typed (null where empty or unusable). */
  properties: Record<string, unknown>;
  /** The feature's own id, else the value of its key attribute. */
  id?: string | number;
}

interface KeyMapping {
  code: string | null;
  /** attribute name → source property */
  attributes: Map<string, string>;
  ignored: string[];
}

/**
 * Maps a file's property names to the layer's: the class code from `code` (any case) or a known
 * alias (用途, 地类编码, DLBM, …) or, failing those, the one property whose first value is a class
 * code; each attribute by its exact name, then case-insensitively, then by its Chinese title, then
 * by the 10-byte truncated dBase form of either (GBK or UTF-8), in that order of precedence across
 * all attributes. Computed once per distinct set of property names; what is unmapped is reported once.
 */
export class PropertyMapper {
  private cache = new Map<string, KeyMapping>();
  private first: KeyMapping | null = null;
  private reported = new Set<string>();
  private readonly codes: Map<string, string>;
  private readonly keyAttribute: Attribute | undefined;

  constructor(
    private readonly layer: Layer,
    private readonly findings: Findings,
  ) {
    this.codes = new Map(layer.classification.classes.map((c) => [c.code, c.code]));
    this.keyAttribute = layer.attributes.find((a) => a.required && a.type === 'text');
  }

  /** One feature's properties as stored; its problems go to the findings. */
  map(f: ImportFeature): Mapped {
    const keys = Object.keys(f.properties);
    const sig = keys.join('\u0000');
    let km = this.cache.get(sig);
    if (!km) {
      km = this.mappingOf(keys, f);
      if (this.cache.size < 1000) this.cache.set(sig, km);
    }
    const keyValue = this.keyAttribute && km.attributes.get(this.keyAttribute.name);
    const rawKey = keyValue ? f.properties[keyValue] : undefined;
    const id = f.id ?? (rawKey === undefined || rawKey === null || rawKey === '' ? undefined : String(rawKey));
    const where = { feature: f.index, id, file: f.file };

    const out: Record<string, unknown> = {};
    // The class code.
    const rawCode = km.code ? f.properties[km.code] : undefined;
    const code = this.classCode(rawCode);
    // A feature without a property the file's first features have (GeoJSON): missing in this feature.
    if (km.code || this.first?.code) {
      if (rawCode === undefined || rawCode === null || String(rawCode).trim() === '') this.findings.problem({ code: 'code_missing', ...where, message: m.codeMissing(f.index) });
      else if (code === undefined) this.findings.problem({ code: 'code_unknown', ...where, message: m.codeUnknown(f.index, String(rawCode), this.layer) });
    }
    out.code = code ?? (rawCode === undefined || rawCode === null ? null : String(rawCode));
    // The attributes.
    for (const a of this.layer.attributes) {
      const key = km.attributes.get(a.name);
      const raw = key === undefined ? undefined : f.properties[key];
      const v = typedValue(a, raw);
      if (!v.ok) {
        this.findings.problem({ code: 'attribute_type', ...where, message: m.attributeType(f.index, a.name, key!, m.expected[a.type], raw) });
        out[a.name] = null;
        continue;
      }
      out[a.name] = v.value;
      // A required attribute in no property of the file is reported once (mappingOf), not per feature.
      if (v.value === null && a.required && (key !== undefined || this.first?.attributes.has(a.name))) {
        this.findings.problem({ code: 'attribute_missing', ...where, message: m.attributeMissing(f.index, a.name, a.zh, key) });
      }
    }
    return { properties: out, id };
  }

  /** Which property became the class code and each attribute (null: none), and what was left out: of the file's first set of names. */
  summary(): { code: string | null; attributes: Record<string, string | null>; ignored: string[] } {
    const km = this.first;
    return {
      code: km?.code ?? null,
      attributes: Object.fromEntries(this.layer.attributes.map((a) => [a.name, km?.attributes.get(a.name) ?? null])),
      ignored: km?.ignored ?? [],
    };
  }

  /** The registry code of a value: exact, else a number equal to exactly one numeric code ('10' → '010'). */
  private classCode(raw: unknown): string | undefined {
    if (raw === undefined || raw === null) return undefined;
    const s = String(raw).trim();
    const exact = this.codes.get(s);
    if (exact) return exact;
    if (/^\d+(\.0*)?$/.test(s)) {
      const same = [...this.codes.keys()].filter((c) => /^\d+$/.test(c) && Number(c) === Number(s));
      if (same.length === 1) return same[0];
    }
    return undefined;
  }

  private mappingOf(keys: string[], f: ImportFeature): KeyMapping {
    const used = new Set<string>();
    const lower = (s: string) => s.toLowerCase();
    const take = (pred: (k: string) => boolean) => {
      const k = keys.find((x) => !used.has(x) && pred(x));
      if (k !== undefined) used.add(k);
      return k;
    };
    let code = take((k) => k === 'code') ?? take((k) => lower(k) === 'code') ?? null;

    const attributes = new Map<string, string>();
    const rounds: ((a: Attribute) => (k: string) => boolean)[] = [
      (a) => (k) => k === a.name,
      (a) => (k) => lower(k) === lower(a.name),
      (a) => (k) => k.trim() === a.zh,
      (a) => (k) => dbfForms(a).includes(lower(k)),
    ];
    for (const round of rounds) {
      for (const a of this.layer.attributes) {
        if (attributes.has(a.name)) continue;
        const k = take(round(a));
        if (k !== undefined) attributes.set(a.name, k);
      }
    }
    if (code === null) {
      for (const alias of CODE_ALIASES) {
        code = take((k) => lower(k.trim()) === alias) ?? null;
        if (code !== null) break;
      }
    }
    if (code === null) {
      // The one remaining property whose value is a class code of the layer.
      const candidates = keys.filter((k) => !used.has(k) && this.classCode(f.properties[k]) !== undefined && typeof f.properties[k] === 'string');
      if (candidates.length === 1) {
        code = candidates[0];
        used.add(code);
        this.warnOnce(`guess:${code}`, { code: 'code_guessed', message: m.codeGuessed(code) });
      }
    }
    const km: KeyMapping = { code, attributes, ignored: keys.filter((k) => !used.has(k)) };

    // Unmapped in the file's first set of property names: reported once; later sets only lack values.
    if (code === null && !this.first) this.reportOnce('code', { code: 'code_unmapped', message: m.codeUnmapped(this.layer, keys), file: f.file, hint: 'name the column "code" or state it in the file' });
    for (const a of this.layer.attributes) {
      if (a.required && !attributes.has(a.name) && !this.first) {
        this.reportOnce(`attr:${a.name}`, { code: 'attribute_unmapped', message: m.attributeUnmapped(a.name, a.zh, keys), file: f.file, hint: `name the column '${a.name}' or '${a.zh}'` });
      }
    }
    if (km.ignored.length) this.warnOnce(`ignored:${km.ignored.join('\u0000')}`, { code: 'properties_ignored', message: m.propertiesIgnored(km.ignored), file: f.file });
    this.first ??= km;
    return km;
  }

  private reportOnce(key: string, p: Problem) {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.findings.problem(p);
  }

  private warnOnce(key: string, w: Warning) {
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.findings.warnings.push(w);
  }
}

/** The names a dBase file (10-byte field names) may carry for an attribute, lower-case. */
function dbfForms(a: Attribute): string[] {
  const forms = [truncateBytes(a.name, 'utf-8'), truncateBytes(a.zh, 'gb18030'), truncateBytes(a.zh, 'utf-8')];
  return [...new Set(forms.filter((f) => f.length > 0).map((f) => f.toLowerCase()))];
}

/** The longest prefix of whole characters of `s` that fits 10 bytes in `encoding`. */
function truncateBytes(s: string, encoding: string, max = 10): string {
  let out = '';
  let n = 0;
  for (const ch of s) {
    n += encoding === 'utf-8' ? Buffer.byteLength(ch) : iconv.encode(ch, encoding).length;
    if (n > max) break;
    out += ch;
  }
  return out;
}

type Typed = { ok: true; value: unknown } | { ok: false };

/**
 * A property value as the attribute's type (null for absent or blank), or not: integers also
 * written 12.0 (within PostgreSQL's integer), numbers, dates also as 2015/6/1, 2015.06.01 or
 * 20150601 (that exist), booleans also as 1/0, yes/no, t/f, 是/否.
 */
export function typedValue(a: Attribute, raw: unknown): Typed {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return { ok: true, value: null };
  const value = (() => {
    switch (a.type) {
      case 'text':
        return typeof raw === 'object' ? undefined : String(raw);
      case 'integer': {
        const n = parseInteger(raw, { lenient: true });
        return n !== undefined && Math.abs(n) <= INT32 ? n : undefined;
      }
      case 'number':
        return parseNumber(raw);
      case 'date':
        return parseDate(raw, { lenient: true });
      case 'boolean':
        return parseBoolean(raw, { words: true });
    }
  })();
  return value === undefined ? { ok: false } : { ok: true, value };
}
