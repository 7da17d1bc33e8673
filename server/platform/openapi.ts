// The OpenAPI document of the whole service, generated from the route contracts
// (platform/contract.ts) that each capability contributes: parameters, bodies and responses come
// from the same zod schemas that validate them, through zod's own JSON Schema output.
//   - OpenAPI 3.1 (JSON Schema 2020-12): the full document, at /api/openapi.json;
//   - OpenAPI 3.0 (zod's "openapi-3.0" target): the same document for OGC API – Features Part 1's
//     "OpenAPI 3.0" conformance class, linked as the landing page's service-desc (/ogcapi/api).
// Schemas that carry an id (`.meta({ id: 'Application' })`) become components; a schema whose
// request (input) and response (output) forms differ gets `<id>Input` for the request form.
import { z } from 'zod';
import { documentationOf, Routes, type MountedContract, type Reply, type RoutesOptions } from './contract';
import type { Request } from 'express';
import { allErrorCodes } from './errors';

export type OpenApiVersion = '3.0' | '3.1';

export interface DocumentInfo {
  title: string;
  version: string;
  description: string;
  /** Base URL of the service (no trailing slash). */
  server: string;
  tags: { name: string; description?: string }[];
}

type Json = Record<string, any>;

/** The error body every 4xx and 5xx answer has. */
export const ErrorBody = z
  .object({
    code: z.enum(allErrorCodes() as [string, ...string[]]).describe('what went wrong, as a stable code'),
    message: z.string().describe('what went wrong and what to do, in words'),
    details: z.unknown().optional().describe('where: the parameter or field, the problems with their paths, the need and the account …'),
  })
  .meta({ id: 'Error' });

/** What a client can rely on in this document itself (the rest is OpenAPI's own schema). */
export const OpenApiDocumentSchema = z
  .object({
    openapi: z.string().describe('3.1.0 or 3.0.3'),
    info: z.object({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.record(z.string(), z.unknown())),
    components: z.object({ schemas: z.record(z.string(), z.unknown()) }),
  })
  .meta({ id: 'OpenApiDocument' });

const STATUS_TEXT: Record<number, string> = {
  400: 'bad request: the parameter or field and every problem are named',
  401: 'unauthenticated: no account behind the request (log in: POST /api/auth/login, then X-CSRF-Token on writes; or Authorization: Bearer <token>)',
  403: 'forbidden: the account lacks the role or department the action needs; the message names both',
  404: 'not found',
  405: 'method not allowed',
  409: 'conflict with the current state',
  410: 'gone',
  412: 'precondition failed: the version sent is not the current one',
  413: 'payload too large',
  415: 'unsupported media type',
  422: 'unprocessable: the submission was read but refused; every problem in details',
  428: 'precondition required: send the version the change is made against',
  429: 'too many attempts',
  500: 'internal error',
  503: 'unavailable: a statement timeout, or the database was busy or unreachable',
};

/** Generates the document from every capability's contracts. */
export function openApiDocument(contracts: MountedContract[], info: DocumentInfo, version: OpenApiVersion = '3.1'): Json {
  const target = version === '3.0' ? 'openapi-3.0' : 'draft-2020-12';
  // One conversion per direction: responses are what the service sends (output), parameters and
  // bodies what it accepts (input). Shared schemas with an id come out once, as $defs.
  const outputs: Record<string, z.ZodType> = { Error: ErrorBody };
  const inputs: Record<string, z.ZodType> = {};
  contracts.forEach((c, i) => {
    for (const [status, r] of Object.entries(c.responses)) if (r.schema) outputs[`r${i}_${status}`] = r.schema;
    if (c.params) for (const [k, s] of Object.entries(c.params.shape)) inputs[`p${i}_${k}`] = s as z.ZodType;
    if (c.query) for (const [k, s] of Object.entries(c.query.shape)) inputs[`q${i}_${k}`] = s as z.ZodType;
    if (c.body) inputs[`b${i}`] = c.body;
    if (c.multipart) inputs[`m${i}`] = c.multipart;
  });
  const out = convert(z.object(outputs), 'output', target);
  const inp = convert(z.object(inputs), 'input', target);
  const components: Json = { ...out.defs };
  const inputRename: Record<string, string> = {};
  for (const [id, s] of Object.entries(inp.defs)) {
    if (!components[id] || JSON.stringify(components[id]) === JSON.stringify(s)) components[id] = s;
    else inputRename[id] = `${id}Input`;
  }
  for (const [id, to] of Object.entries(inputRename)) components[to] = renameRefs(inp.defs[id], inputRename);
  const input = (key: string) => renameRefs(inp.props[key], inputRename);

  const paths: Json = {};
  contracts.forEach((c, i) => {
    const op: Json = {
      tags: c.tags,
      summary: c.summary,
      ...(c.description || c.access.who ? { description: [c.description, c.access.who ? `Who may: ${c.access.who}.` : ''].filter(Boolean).join('\n\n') } : {}),
      operationId: operationId(c),
      security: c.access.security === 'public' ? [] : [{ session: [] }, { bearer: [] }],
    };
    const parameters: Json[] = [];
    if (c.params) for (const k of Object.keys(c.params.shape)) parameters.push(parameter(k, 'path', input(`p${i}_${k}`), true));
    if (c.query) {
      for (const [k, s] of Object.entries(c.query.shape)) parameters.push(parameter(k, 'query', input(`q${i}_${k}`), !(s as z.ZodType).safeParse(undefined).success));
    }
    if (parameters.length) op.parameters = parameters;
    const content: Json = {};
    if (c.body) content['application/json'] = { schema: input(`b${i}`) };
    if (c.multipart) content['multipart/form-data'] = { schema: input(`m${i}`) };
    if (c.body || c.multipart) op.requestBody = { required: true, content };
    const responses: Json = {};
    for (const [status, r] of Object.entries(c.responses)) responses[status] = reply(r, out.props[`r${i}_${status}`]);
    const errors = new Set(c.errors ?? []);
    if (parameters.length || c.body || c.multipart) errors.add(400);
    if (c.access.security === 'account') [401, 403].forEach((s) => errors.add(s));
    for (const s of [...errors].sort()) responses[s] ??= { description: STATUS_TEXT[s] ?? 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    (paths[c.fullPath] ??= {})[c.method] = { ...op, responses };
  });

  return {
    openapi: version === '3.0' ? '3.0.3' : '3.1.0',
    info: { title: info.title, version: info.version, description: info.description, license: { name: 'MIT' } },
    servers: [{ url: info.server }],
    tags: info.tags,
    paths,
    components: {
      schemas: components,
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'onemap_session', description: 'browser session from POST /api/auth/login; writes also send its CSRF token as X-CSRF-Token' },
        bearer: { type: 'http', scheme: 'bearer', description: 'API token from POST /api/auth/tokens (for scripts and desktop GIS)' },
      },
    },
  };
}

function reply(r: Reply, schema: Json | undefined): Json {
  const type = r.type ?? 'application/json';
  const content: Json | undefined = schema ? { [type]: { schema } } : r.type ? { [type]: {} } : undefined;
  for (const t of r.alternatives ?? []) if (content) content[t] = {};
  return {
    description: r.description,
    ...(r.headers ? { headers: Object.fromEntries(Object.entries(r.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
    ...(content ? { content } : {}),
  };
}

function parameter(name: string, where: 'path' | 'query', schema: Json, required: boolean): Json {
  const { description, ...rest } = schema;
  return { name, in: where, required, ...(description ? { description } : {}), schema: rest };
}

const operationId = (c: MountedContract) =>
  `${c.method}${c.fullPath
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/[{}.]/g, ' ').trim().split(/[\s_-]+/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(''))
    .join('')}`;

/** zod → JSON Schema of an object of schemas; returns each property's schema and the shared $defs, refs pointing at components. */
function convert(all: z.ZodObject, io: 'input' | 'output', target: 'openapi-3.0' | 'draft-2020-12'): { props: Json; defs: Json } {
  const json = z.toJSONSchema(all, {
    io,
    target,
    unrepresentable: 'any',
    reused: 'inline',
    override: ({ zodSchema, jsonSchema }) => {
      const doc = documentationOf(zodSchema);
      const def = (zodSchema as any)._zod?.def;
      // zod leaves defaults out of input schemas; a client wants to know them.
      const dflt = def?.type === 'default' ? def.defaultValue : jsonSchema.default;
      if (doc) {
        const keep = { description: jsonSchema.description, default: dflt };
        for (const k of Object.keys(jsonSchema)) delete (jsonSchema as Json)[k];
        Object.assign(jsonSchema, doc, Object.fromEntries(Object.entries(keep).filter(([, v]) => v !== undefined)));
      }
      // z.number().int() says "within the safe integers": true, and noise in a document.
      if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
      if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      if (dflt !== undefined && typeof dflt !== 'function') jsonSchema.default = dflt;
      // An object that is not strict takes (and ignores) other keys: say so, or clients reject real answers.
      if (def?.type === 'object' && !def.catchall) delete (jsonSchema as Json).additionalProperties;
    },
  }) as Json;
  const fix = (v: any): any => {
    if (Array.isArray(v)) return v.map(fix);
    if (v && typeof v === 'object') {
      const o: Json = {};
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') o[k] = x.replace(/^#\/(\$defs|definitions)\//, '#/components/schemas/');
        else if (k !== '$schema' && k !== '$id') o[k] = fix(x);
      }
      return o;
    }
    return v;
  };
  return { props: fix(json.properties ?? {}), defs: fix(json.$defs ?? json.definitions ?? {}) };
}

function renameRefs(v: any, rename: Record<string, string>): any {
  if (!Object.keys(rename).length || v === undefined) return v;
  if (Array.isArray(v)) return v.map((x) => renameRefs(x, rename));
  if (v && typeof v === 'object') {
    const o: Json = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === '$ref' && typeof x === 'string') {
        const id = x.replace('#/components/schemas/', '');
        o[k] = rename[id] ? `#/components/schemas/${rename[id]}` : x;
      } else o[k] = renameRefs(x, rename);
    }
    return o;
  }
  return v;
}

/** The service's document: info, tags and servers around the generated paths. */
export function apiDocument(contracts: MountedContract[], base: string, version: OpenApiVersion): Json {
  return openApiDocument(
    contracts,
    {
      title: '大同市五规合一一张图 — Datong One Map service',
      version: '0.1.0',
      description: 'The five plans of Datong on one map: OGC API – Features, Mapbox Vector Tiles, a MapLibre style and the viewer API. Generated from the route contracts.',
      server: base,
      tags: ['OGC API – Features', 'Tiles', 'Viewer API', 'Revisions', 'Conflicts', 'Applications', 'Audit', 'Accounts', 'Operations'].map((name) => ({ name })),
    },
    version,
  );
}

/** GET /api/openapi.json: the OpenAPI 3.1 document (the 3.0 one is the OGC API's /ogcapi/api). */
export function documentRoutes(document: (req: Request) => Json, opts: RoutesOptions): Routes {
  const routes = new Routes('/api/openapi.json', ['Operations'], opts);
  routes.route(
    {
      method: 'get',
      path: '/',
      summary: 'This service’s OpenAPI 3.1 document, generated from the route contracts',
      access: { security: 'public', check: () => undefined },
      responses: { 200: { description: 'OpenAPI 3.1', type: 'application/vnd.oai.openapi+json;version=3.1', schema: OpenApiDocumentSchema } },
    },
    ({ req, res }) => {
      res.type('application/vnd.oai.openapi+json;version=3.1').send(JSON.stringify(document(req)));
    },
  );
  return routes;
}
