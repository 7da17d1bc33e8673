// Schema-first routes. Every route of the service is declared once, as a contract: its path, who
// may call it, zod schemas of its path parameters, query, body and responses. The same contract
//   - checks who may call it (a Guard from accounts/authorize.ts) before the body is read;
//   - validates path, query and body, answering 400 with every problem and where it is;
//   - is the route's entry in the generated OpenAPI document (platform/openapi.ts);
//   - gives the handler typed input, and the viewer its types (`import type` of the schemas' types).
// With `checkResponses` (on in the tests) every JSON answer is also checked against its schema, so
// the document cannot drift from what the service sends.
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { AppError, badRequest, messages, type ErrorCode } from './errors';
import type { Reader } from './replicas';
import { expected, parseBoolean, parseDate, parseInteger, parseNumber } from './values';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/**
 * Who may call a route (built by accounts/authorize.ts). `check` runs before the body is read and
 * returns the account (undefined when public), or throws 401 / 403.
 */
export interface Guard<A> {
  security: 'public' | 'account';
  /** Who may, in words, for the document ("a plan_editor of the layer's department, or an admin"). */
  who?: string;
  check(res: Response, params: Record<string, unknown>): A;
}

/** One documented answer of a route. */
export interface Reply {
  description: string;
  /** The JSON body's schema (output), checked in tests; absent for files and HTML. */
  schema?: z.ZodType;
  /** Media type; default application/json. */
  type?: string;
  /** Other media types the same answer may come in (files: no schema). */
  alternatives?: string[];
  /** Response headers worth documenting (name → description). */
  headers?: Record<string, string>;
}

type AnyObject = z.ZodObject<z.ZodRawShape>;

export interface Contract<P extends AnyObject | undefined, Q extends AnyObject | undefined, B extends z.ZodType | undefined, A> {
  method: Method;
  /** Express path relative to the router's mount ('/:id/opinions'). */
  path: string;
  summary: string;
  description?: string;
  tags?: string[];
  access: Guard<A>;
  params?: P;
  query?: Q;
  /** A JSON body, validated before the handler runs (with `multipart` too: only when the request is JSON). */
  body?: B;
  /** Largest JSON body (express.json's limit); default 1 MB. */
  bodyLimit?: string;
  /** A multipart upload the handler reads itself (documented only): its fields. With `body` as well, the route takes either. */
  multipart?: AnyObject;
  /** The answers: the first 2xx is what a returned value is sent with. */
  responses: Record<number, Reply>;
  /** Error statuses the route answers (documented with the Error schema; 401/403 follow from access). */
  errors?: number[];
}

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface Ctx<P, Q, B, A> {
  req: Request;
  res: Response;
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  account: A;
}

export interface MountedContract extends Contract<AnyObject | undefined, AnyObject | undefined, z.ZodType | undefined, unknown> {
  /** The OpenAPI path ('/api/applications/{id}/opinions'). */
  fullPath: string;
}

/** A problem with a request, with where it is (a JSON path, or a parameter name). */
export interface Problem {
  path: string;
  code: string;
  message: string;
}

const pathText = (p: readonly PropertyKey[]) => p.map(String).join('.');

/** Every issue as a problem at its path; keys nobody asked for, one problem each at the key. */
function problems(issues: readonly z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((i): Problem[] =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({ path: pathText([...i.path, k]), code: i.code, message: 'not a field of this body' }))
      : [{ path: pathText(i.path), code: i.code, message: i.message }],
  );
}

/** Each query schema's strict form, made once (zod compiles a schema on first use: not per request). */
const strictForm = new WeakMap<AnyObject, AnyObject>();
const EMPTY = z.object({});

/** Validates the query: unknown names answer 400 unknown_parameter, bad values 400 invalid_parameter (every problem listed). */
export function validateQuery<S extends AnyObject>(schema: S, query: unknown): z.output<S> {
  let strict = strictForm.get(schema);
  if (!strict) strictForm.set(schema, (strict = schema.strict()));
  const r = strict.safeParse(query ?? {});
  if (r.success) return r.data as z.output<S>;
  const unknown = r.error.issues.find((i) => i.code === 'unrecognized_keys') as z.core.$ZodIssueUnrecognizedKeys | undefined;
  const allowed = Object.keys(schema.shape);
  if (unknown) {
    throw badRequest('unknown_parameter', messages.unknownParam(unknown.keys[0], allowed), { parameter: unknown.keys[0], allowed });
  }
  // A required parameter that did not come is missing, not malformed.
  const first = r.error.issues[0];
  const name = String(first.path[0] ?? '');
  if (first.path.length === 1 && (query as Record<string, unknown> | undefined)?.[name] === undefined) {
    throw badRequest('missing_parameter', `parameter '${name}' is required`, { parameter: name, problems: problems(r.error.issues) });
  }
  throw invalid('invalid_parameter', 'parameter', r.error.issues, query as Record<string, unknown>);
}

/** Validates path parameters (400 invalid_parameter). */
export function validateParams<S extends AnyObject>(schema: S, params: unknown): z.output<S> {
  const r = schema.safeParse(params ?? {});
  if (r.success) return r.data as z.output<S>;
  throw invalid('invalid_parameter', 'parameter', r.error.issues, params as Record<string, unknown>);
}

/** Validates a body (400 invalid_body with every problem; `details.field` is the first). */
export function validateBody<S extends z.ZodType>(schema: S, body: unknown, code: ErrorCode = 'invalid_body'): z.output<S> {
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  throw invalid(code, 'field', r.error.issues, body as Record<string, unknown>);
}

function invalid(code: ErrorCode, kind: 'parameter' | 'field', issues: readonly z.core.$ZodIssue[], input: Record<string, unknown> | undefined): AppError {
  const list = problems(issues);
  const first = list[0];
  const got = kind === 'parameter' && input && typeof input === 'object' ? input[first.path.split('.')[0]] : undefined;
  const where = first.path ? `${kind} '${first.path}'` : kind === 'field' ? 'the body' : 'the parameters';
  const more = list.length > 1 ? ` (and ${list.length - 1} more problem${list.length > 2 ? 's' : ''}, see details.problems)` : '';
  const message = `${where}: ${first.message}${got !== undefined ? `, got ${JSON.stringify(got)}` : ''}${more}`;
  return badRequest(code, message, { [kind]: first.path, problems: list });
}

// --- schemas of text values (query and path parameters) --------------------------------------------------

/** The JSON Schema each text-value schema stands for in the document (they parse text, so zod would say "string"). */
// Keyed by the schema's definition, which `.describe()`, `.optional()` and `.default()` copies share.
const documentedDefs = new WeakMap<object, Record<string, unknown>>();
const defOf = (s: unknown): object => (s as { _zod: { def: object } })._zod.def;
/** Says which JSON Schema a text-value schema stands for in the document (zod would say "string"). */
export const documented = <S extends z.ZodType>(s: S, json: Record<string, unknown>): S => {
  documentedDefs.set(defOf(s), json);
  return s;
};
/** The JSON Schema a text-value schema stands for, if it is one. */
export function documentationOf(s: unknown): Record<string, unknown> | undefined {
  // Through the wrappers (.default(), .optional(), .nullable()) to the documented schema.
  for (let def: any = defOf(s); def; def = def.innerType?._zod.def) {
    const doc = documentedDefs.get(def);
    if (doc) return doc;
  }
  return undefined;
}
const text = <T>(parse: (raw: string) => T | undefined, what: string) =>
  z.string({ error: `expected ${what} (one value)` }).transform((raw, ctx): T => {
    const v = parse(raw);
    if (v === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected ${what}` });
      return z.NEVER;
    }
    return v;
  });

/** A number parsed by `parse`, within [min, max]. */
const ranged = (parse: (raw: string) => number | undefined, type: 'integer' | 'number', min: number, max: number) =>
  documented(
    text((raw) => {
      const n = parse(raw);
      return n !== undefined && n >= min && n <= max ? n : undefined;
    }, `${type === 'integer' ? 'an integer' : 'a number'} from ${min} to ${max}`),
    { type, minimum: min, maximum: max },
  );

/** Schemas of query and path values (Express gives text; a repeated parameter is an array and refused). */
export const param = {
  /** An integer in [min, max]. */
  int: (min: number, max: number) => ranged(parseInteger, 'integer', min, max),
  /** A finite number in [min, max]. */
  number: (min: number, max: number) => ranged(parseNumber, 'number', min, max),
  /** A database id: a whole number of up to 9 digits. */
  id: () => documented(text((raw) => (/^\d{1,9}$/.test(raw) ? Number(raw) : undefined), 'a whole number'), { type: 'integer', minimum: 0 }),
  /** true / false. */
  bool: () => documented(text((raw) => parseBoolean(raw), expected.boolean), { type: 'boolean' }),
  /** A calendar date YYYY-MM-DD that exists. */
  date: () => documented(text((raw) => parseDate(raw), expected.date), { type: 'string', format: 'date' }),
  /** One of the given words. */
  oneOf: <T extends string>(values: readonly T[]) =>
    documented(text((raw) => ((values as readonly string[]).includes(raw) ? (raw as T) : undefined), values.join(' | ')), { type: 'string', enum: [...values] }),
  /** Any single text (max 2,000 characters). */
  text: (max = 2000) => z.string({ error: 'expected one value' }).max(max),
  /** A comma-separated list of words (each one of `values` when given). */
  list: <T extends string>(values?: readonly T[]) =>
    documented(
      text((raw) => {
        const parts = raw.split(',').map((s) => s.trim()).filter(Boolean);
        return !values || parts.every((p) => (values as readonly string[]).includes(p)) ? (parts as T[]) : undefined;
      }, values ? `a comma-separated list of ${values.join(', ')}` : 'a comma-separated list'),
      { type: 'string', description: values ? `comma-separated: ${values.join(', ')}` : 'comma-separated' },
    ),
  /** minx,miny,maxx,maxy: 4 finite numbers with min ≤ max (3-D boxes are refused). */
  bbox: () =>
    documented(
      text((raw) => {
        const parts = raw.split(',').map((s) => parseNumber(s));
        if (parts.length !== 4 || parts.some((n) => n === undefined)) return undefined;
        const [a, b, c, d] = parts as number[];
        return a <= c && b <= d ? ([a, b, c, d] as [number, number, number, number]) : undefined;
      }, '4 comma-separated numbers minx,miny,maxx,maxy with min ≤ max (a 3-D bbox is not supported)'),
      { type: 'string', pattern: '^[^,]+,[^,]+,[^,]+,[^,]+$', description: 'minx,miny,maxx,maxy' },
    ),
};

/** The usual paging parameters. */
export const paging = (defaultLimit: number, maxLimit: number) => ({
  limit: param.int(1, maxLimit).default(defaultLimit).describe('page size'),
  offset: param.int(0, 1_000_000_000).default(0).describe('how many to skip'),
});

// --- routers of contracts ---------------------------------------------------------------------------------

export interface RoutesOptions {
  /** Check every JSON answer against its contract (tests): a mismatch answers 500 with the problems. */
  checkResponses?: boolean;
  /** Called before an accepted write's JSON answer is sent (read-your-writes: platform/replicas.ts). */
  afterWrite?: (req: Request, res: Response) => Promise<void>;
  /** Where the routes' reads go (a streaming replica far enough, else the primary: platform/replicas.ts); default the routes' own pool. */
  reader?: Reader;
}

/**
 * The routes of one capability, mounted at `mount` (OpenAPI style, '/api/layers/{layerId}/revisions').
 * `routes.router` goes into the app; `routes.contracts` into the document.
 */
export class Routes {
  readonly router: Router;
  readonly contracts: MountedContract[] = [];

  constructor(
    readonly mount: string,
    readonly tags: string[],
    private readonly opts: RoutesOptions = {},
  ) {
    this.router = Router({ mergeParams: true });
  }

  /** Declares a route and its handler; a returned value is sent as JSON with the first 2xx status. */
  route<P extends AnyObject | undefined, Q extends AnyObject | undefined, B extends z.ZodType | undefined, A>(
    c: Contract<P, Q, B, A>,
    handler: (ctx: Ctx<P, Q, B, A>) => unknown,
  ): this {
    this.contracts.push({ ...(c as MountedContract), tags: c.tags ?? this.tags, fullPath: joinPath(this.mount, c.path) });
    const ok = Number(Object.keys(c.responses).find((s) => s.startsWith('2')) ?? 200);
    const json = c.body ? express.json({ limit: c.bodyLimit ?? '1mb' }) : undefined;
    const check = this.opts.checkResponses;
    this.router[c.method](c.path, async (req, res, next) => {
      try {
        const params = c.params ? validateParams(c.params, req.params) : {};
        const account = c.access.check(res, params);
        const query = validateQuery(c.query ?? EMPTY, req.query);
        let body: unknown = {};
        const multipart = c.multipart && /^multipart\/form-data/i.test(req.get('content-type') ?? '');
        if (json && c.body && !multipart) {
          await new Promise<void>((resolve, reject) => json(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
          // No body at all is fine where the schema takes none (e.g. `.prefault({})` for all-default bodies).
          if (req.body === undefined && !/json/i.test(req.get('content-type') ?? '') && !c.body.safeParse(undefined).success) {
            throw new AppError(400, 'invalid_body', 'expected a JSON body (Content-Type: application/json)');
          }
          body = validateBody(c.body, req.body);
        }
        const ctx = { req, res, params, query, body, account } as Ctx<P, Q, B, A>;
        const value = await handler(ctx);
        if (value === undefined || res.headersSent) return;
        const status = res.statusCode !== 200 ? res.statusCode : ok;
        if (check) checkAnswer(c, status, value);
        res.status(status);
        if (c.method !== 'get' && this.opts.afterWrite) await this.opts.afterWrite(req, res);
        res.json(value);
      } catch (err) {
        next(err);
      }
    });
    return this;
  }

  /** Documents a route that middleware serves (static files, the viewer), with no handler here. */
  document(c: Contract<AnyObject | undefined, AnyObject | undefined, undefined, unknown>): this {
    this.contracts.push({ ...(c as MountedContract), tags: c.tags ?? this.tags, fullPath: joinPath(this.mount, c.path) });
    return this;
  }
}

/** Checks a JSON answer against the contract's schema for its status (tests). */
export function checkAnswer(c: Pick<Contract<AnyObject | undefined, AnyObject | undefined, z.ZodType | undefined, unknown>, 'method' | 'path' | 'responses'>, status: number, value: unknown): void {
  const reply = c.responses[status];
  if (!reply) throw new AppError(500, 'internal', `contract: ${c.method.toUpperCase()} ${c.path} answered ${status}, which its contract does not list`);
  if (!reply.schema) return;
  const r = reply.schema.safeParse(value);
  if (!r.success) {
    throw new AppError(500, 'internal', `contract: ${c.method.toUpperCase()} ${c.path} answered ${status} with a body its schema refuses`, { problems: problems(r.error.issues) });
  }
}

/** '/api/x/{id}' + '/:n/y' → '/api/x/{id}/{n}/y'. */
export function joinPath(mount: string, p: string): string {
  const full = `${mount.replace(/\/$/, '')}${p === '/' ? '' : p}` || '/';
  return full.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}
