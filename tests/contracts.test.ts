// The OpenAPI document against real answers: every GET operation the service documents is called
// (as the admin or the account the table names, and anonymously: a public one answers, one for
// accounts — the working data, the audit trail, the accounts — 401 with the Error body) on a
// database with the demo data and the demo
// applications, and every JSON answer is validated with ajv against the schema the document gives
// for its status; every 4xx / 5xx body seen must be the document's Error. A path parameter or a
// required query parameter without a sample (tests/helpers/samples.ts) fails the test, so a new route
// brings its sample.
import Ajv2020 from 'ajv/dist/2020';
import { beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from './helpers/auth';
import { buildSamples, pathSample, SAMPLE_LAYER, type Samples } from './helpers/samples';
import { useDemoCopy } from './helpers/setup';

type Json = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  op: Json;
}

// The archives of releases at zoom 8 only: the test reads them, it does not measure them.
const { knex, srv } = useDemoCopy({ ONEMAP_ARCHIVE_MINZOOM: '8', ONEMAP_ARCHIVE_MAXZOOM: '8' });

const DOC_ID = 'onemap:openapi';
const METHODS = ['get', 'put', 'post', 'patch', 'delete'];
const LAYER = SAMPLE_LAYER;

let doc: Json;
let ajv: Ajv2020;
/** Sample values of path parameters and of required query parameters (tests/helpers/samples.ts). */
let samples: Samples;
/** Who calls an operation when the admin may not (an inbox is a reviewer's); by path. */
const CALLERS: Record<string, string> = { '/api/applications/inbox': 'land.reviewer' };

beforeAll(async () => {
  samples = await buildSamples(srv.baseUrl, knex);
  const res = await fetch(`${srv.baseUrl}/api/openapi.json`);
  expect(res.status).toBe(200);
  doc = await res.json();
  // The whole document is one schema, so that the responses' $refs (#/components/schemas/…) resolve.
  // Formats are not checked (ajv-formats is not a dependency): the types, enums and shapes are.
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema(doc, DOC_ID);
});

const operations = (): Operation[] =>
  Object.entries(doc.paths as Json).flatMap(([path, ops]) => METHODS.filter((m) => (ops as Json)[m]).map((method) => ({ method, path, op: (ops as Json)[method] })));

const isJson = (mediaType: string) => /^application\/([\w.-]+\+)?json\b/i.test(mediaType);
const pointer = (...parts: string[]) => parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

/** The problems ajv finds in a value against the schema at `#/<parts>` of the document (empty: valid). */
function problemsAt(value: unknown, ...parts: string[]): string[] {
  const validate = ajv.getSchema(`${DOC_ID}#/${pointer(...parts)}`);
  if (!validate) return [`no schema at #/${parts.join('/')}`];
  if (validate(value)) return [];
  return (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : ''}`);
}

/** The operation's URL with its path parameters and required query parameters filled in, or what is missing. */
function urlOf({ path, op }: Operation): { url?: string; missing: string[] } {
  const missing: string[] = [];
  const url = path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = pathSample(samples, name, path);
    if (v === undefined) missing.push(`path parameter {${name}}`);
    return encodeURIComponent(v ?? '');
  });
  const query = new URLSearchParams();
  for (const p of (op.parameters ?? []) as Json[]) {
    if (p.in !== 'query' || !p.required) continue;
    if (samples.query[p.name] === undefined) missing.push(`required query parameter ${p.name}`);
    else query.set(p.name, samples.query[p.name]);
  }
  return missing.length ? { missing } : { url: `${url}${query.size ? `?${query}` : ''}`, missing };
}

/** Calls an operation and checks the answer against the document; returns what is wrong (empty: all right). */
async function check(o: Operation, url: string, as: string | null): Promise<string[]> {
  const label = `${o.method.toUpperCase()} ${url} (${as ?? 'anonymous'})`;
  const headers: Record<string, string> = as ? { Authorization: `Bearer ${await tokenFor(knex, as)}` } : {};
  const res = await fetch(`${srv.baseUrl}${url}`, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0].trim();
  const publicOp = Array.isArray(o.op.security) && o.op.security.length === 0;
  const expected = !as && !publicOp ? 401 : 'success';
  if (res.status >= 400) {
    const wrong = expected === 401 && res.status === 401 ? [] : [`${label}: answered ${res.status} ${body.toString('utf8', 0, 300)}`];
    const problems = isJson(mediaType) ? problemsAt(JSON.parse(body.toString('utf8')), 'components', 'schemas', 'Error') : [`not JSON but ${mediaType}`];
    return [...wrong, ...problems.map((p) => `${label}: the ${res.status} body is not the Error schema: ${p}`)];
  }
  if (expected === 401) return [`${label}: a route that needs an account answered ${res.status}`];
  const status = String(res.status);
  const reply = o.op.responses?.[status];
  if (!reply) return [`${label}: answered ${status}, which the document does not list`];
  if (res.status === 204) return body.length ? [`${label}: 204 with a body`] : [];
  const content = (reply.content ?? {}) as Json;
  const documented = Object.keys(content).find((t) => t.split(';')[0].trim().toLowerCase() === mediaType.toLowerCase());
  if (!documented) return [`${label}: answered ${mediaType}, the document gives ${Object.keys(content).join(', ') || 'no media type'}`];
  if (!isJson(mediaType)) return body.length ? [] : [`${label}: an empty ${mediaType} body`];
  if (!content[documented].schema) return [`${label}: the document has no schema for its ${mediaType} answer`];
  return problemsAt(JSON.parse(body.toString('utf8')), 'paths', o.path, o.method, 'responses', status, 'content', documented, 'schema').map((p) => `${label}: ${p}`);
}

describe('the OpenAPI document against real answers', () => {
  it('gives every operation a 2xx answer, with a schema for every JSON one', () => {
    const wrong: string[] = [];
    for (const { method, path, op } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      const ok = Object.entries((op.responses ?? {}) as Json).filter(([s]) => /^2\d\d$/.test(s));
      if (!ok.length) wrong.push(`${where}: no 2xx answer`);
      for (const [status, reply] of ok) {
        const content = Object.entries((reply.content ?? {}) as Json);
        if (!content.length && status !== '204') wrong.push(`${where}: ${status} names no media type`);
        for (const [type, media] of content) if (isJson(type) && !media.schema) wrong.push(`${where}: ${status} ${type} has no schema`);
      }
      for (const [status, reply] of Object.entries((op.responses ?? {}) as Json)) {
        if (!/^[45]\d\d$/.test(status)) continue;
        const schema = (reply as Json).content?.['application/json']?.schema ?? doc.components.responses?.[String((reply as Json).$ref ?? '').split('/').pop()!]?.content?.['application/json']?.schema;
        if (!schema) wrong.push(`${where}: ${status} has no JSON error schema`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers every documented GET as the document says (as an account that may, and anonymously)', async () => {
    const gets = operations().filter((o) => o.method === 'get');
    expect(gets.length).toBeGreaterThan(30);
    const wrong: string[] = [];
    for (const o of gets) {
      const { url, missing } = urlOf(o);
      if (!url) {
        wrong.push(`GET ${o.path}: no sample for ${missing.join(', ')} (add one to tests/helpers/samples.ts)`);
        continue;
      }
      wrong.push(...(await check(o, url, CALLERS[o.path] ?? 'admin')), ...(await check(o, url, null)));
    }
    expect(wrong).toEqual([]);
  });

  it('answers errors with the Error schema', async () => {
    const wrong: string[] = [];
    // As a staff account (the working data needs one), and anonymously (null).
    const errors: [string, number, string | null][] = [
      ['/api/layers/nope/revisions', 404, 'window'],
      ['/ogcapi/collections/nope/items', 404, 'window'],
      [`/ogcapi/collections/${LAYER}/items?limit=0`, 400, 'window'],
      [`/ogcapi/collections/${LAYER}/items?nope=1`, 400, 'window'],
      ['/api/conflicts/cases?limit=x', 400, 'window'],
      ['/api/conflicts/cases', 401, null],
      ['/tiles/nope.json', 401, null],
      ['/api/audit', 401, null],
      ['/api/audit', 403, 'window'],
      ['/api/nothing', 404, null],
    ];
    for (const [url, status, who] of errors) {
      const res = await fetch(`${srv.baseUrl}${url}`, { headers: who ? { Authorization: `Bearer ${await tokenFor(knex, who)}` } : {} });
      if (res.status !== status) wrong.push(`${url}: expected ${status}, got ${res.status}`);
      wrong.push(...problemsAt(await res.json(), 'components', 'schemas', 'Error').map((p) => `${url}: ${p}`));
    }
    expect(wrong).toEqual([]);
  });
});
