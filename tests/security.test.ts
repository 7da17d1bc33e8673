// Security headers, request limits and login throttling, against the real service: the headers on
// HTML, JSON, tiles and the OpenAPI document; HSTS only over TLS as a trusted proxy tells; 431 for
// oversized headers, 413 for an oversized JSON body, 408 for a slow client, each with the error
// JSON; and failed logins throttled in PostgreSQL across two instances, with increasing delays, the
// owner not kept out by strangers beyond the cap, and the table bounded.
import { request } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { addAccount } from '../server/accounts/admin';
import { throttledAddress } from '../server/accounts/limiter';
import { loadConfig } from '../server/platform/config';
import { cspDirectives } from '../server/platform/security';
import { asStaff } from './helpers/auth';
import { useFileDatabase, useFileServer } from './helpers/setup';

/** Districts tile over 城区 at z8 (113.30° E, 40.08° N). */
const TILE = '/tiles/districts/8/208/96.mvt';
const PASSWORD = 'correct horse battery';

/** A raw GET with the given headers (node:http: no client-side limits on header size). */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const csp = (h: Headers) => h.get('content-security-policy') ?? '';

function expectSecurityHeaders(h: Headers) {
  const policy = csp(h);
  expect(policy).toMatch(/default-src 'self'/);
  expect(policy).toMatch(/script-src 'self'(;|$)/);
  expect(policy).toMatch(/connect-src 'self'(;|$)/);
  expect(policy).toMatch(/frame-ancestors 'self'/);
  expect(policy).not.toMatch(/unsafe-inline|unsafe-eval/);
  expect(h.get('x-content-type-options')).toBe('nosniff');
  expect(h.get('referrer-policy')).toBe('no-referrer');
  expect(h.get('x-frame-options')).toBe('SAMEORIGIN');
  expect(h.get('x-powered-by')).toBeNull();
}

describe('security headers', () => {
  const srv = useFileServer();
  const noProxy = useFileServer(undefined, { ONEMAP_TRUST_PROXY: 'false' });

  it('are on the viewer’s HTML, with a policy of no inline script or style', async () => {
    const res = await fetch(`${srv.baseUrl}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expectSecurityHeaders(res.headers);
    expect(csp(res.headers)).toMatch(/style-src 'self'(;|$)/);
    expect(csp(res.headers)).toMatch(/worker-src 'self' blob:/);
    // The page itself has no inline script for the policy to refuse.
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('are on API JSON, the OpenAPI document and a vector tile, which still work', async () => {
    const layers = await fetch(`${srv.baseUrl}/api/layers`, asStaff());
    expect(layers.status).toBe(200);
    expect(layers.headers.get('content-type')).toMatch(/application\/json/);
    expect((await layers.json()).layers.length).toBeGreaterThan(10);
    expectSecurityHeaders(layers.headers);

    const doc = await fetch(`${srv.baseUrl}/api/openapi.json`);
    expect(doc.status).toBe(200);
    expect((await doc.json()).openapi).toMatch(/^3\.1/);
    expectSecurityHeaders(doc.headers);

    const tile = await fetch(`${srv.baseUrl}${TILE}`, asStaff());
    expect(tile.status).toBe(200);
    expect(tile.headers.get('content-type')).toBe('application/vnd.mapbox-vector-tile');
    expect((await tile.arrayBuffer()).byteLength).toBeGreaterThan(100);
    expectSecurityHeaders(tile.headers);
    // Published releases are for any web map: not limited to this origin.
    expect(tile.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
  });

  it('send HSTS only when a trusted proxy says the request came over TLS', async () => {
    // Default ONEMAP_TRUST_PROXY=loopback: the test client is on loopback, so its X-Forwarded-Proto counts.
    const tls = await fetch(`${srv.baseUrl}/api/auth/me`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(tls.headers.get('strict-transport-security')).toBe('max-age=31536000');
    const plain = await fetch(`${srv.baseUrl}/api/auth/me`);
    expect(plain.headers.get('strict-transport-security')).toBeNull();
    const http = await fetch(`${srv.baseUrl}/api/auth/me`, { headers: { 'X-Forwarded-Proto': 'http' } });
    expect(http.headers.get('strict-transport-security')).toBeNull();
    // Trusting no proxy: the header is the client's word, and never gives HSTS.
    const spoofed = await fetch(`${noProxy.baseUrl}/api/auth/me`, { headers: { 'X-Forwarded-Proto': 'https' } });
    expect(spoofed.status).toBe(200);
    expect(spoofed.headers.get('strict-transport-security')).toBeNull();
    expectSecurityHeaders(spoofed.headers);
  });

  it('allow ONEMAP_PUBLIC_URL’s origin for what the style and TileJSON name by it, and nothing else', () => {
    const d = cspDirectives('https://map.datong.example/onemap/');
    expect(d['connect-src']).toEqual(["'self'", 'https://map.datong.example']);
    expect(d['img-src']).toEqual(["'self'", 'https://map.datong.example', 'data:', 'blob:']);
    expect(d['script-src']).toEqual(["'self'"]);
    expect(cspDirectives()['connect-src']).toEqual(["'self'"]);
  });

  it('take ONEMAP_TRUST_PROXY as false, true, hops or addresses, and refuse anything else', () => {
    const trust = (v: string) => loadConfig({ ONEMAP_TRUST_PROXY: v }).ONEMAP_TRUST_PROXY;
    expect(trust('false')).toBe(false);
    expect(trust('TRUE')).toBe(true);
    expect(trust('2')).toBe(2);
    expect(trust('loopback, 10.0.0.0/8, fd00::/8, 192.0.2.1')).toEqual(['loopback', '10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
    expect(() => trust('10.0.0.0/33')).toThrow(/ONEMAP_TRUST_PROXY.*not understood: 10\.0\.0\.0\/33/s);
    expect(() => trust('my-proxy')).toThrow(/ONEMAP_TRUST_PROXY/);
    expect(() => loadConfig({ ONEMAP_HEADERS_TIMEOUT_MS: '60000', ONEMAP_REQUEST_TIMEOUT_MS: '30000' })).toThrow(/ONEMAP_HEADERS_TIMEOUT_MS must not exceed/);
  });
});

describe('request limits', () => {
  const srv = useFileServer();
  const slow = useFileServer(undefined, { ONEMAP_HEADERS_TIMEOUT_MS: '1000', ONEMAP_REQUEST_TIMEOUT_MS: '2000' });

  it('answer oversized headers with 431 and the error JSON', async () => {
    const r = await rawGet(`${srv.baseUrl}/api/auth/me`, { 'X-Padding': 'x'.repeat(20_000) });
    expect(r.status).toBe(431);
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.body)).toMatchObject({ code: 'headers_too_large', message: expect.stringMatching(/ONEMAP_MAX_HEADER_BYTES/) });
    // Headers under the limit are served.
    expect((await rawGet(`${srv.baseUrl}/api/auth/me`, { 'X-Padding': 'x'.repeat(8_000) })).status).toBe(200);
  });

  it('answer an oversized JSON body with 413 and the error JSON', async () => {
    const res = await fetch(`${srv.baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'admin', password: 'x'.repeat(40_000) }),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'payload_too_large', message: expect.any(String) });
    expectSecurityHeaders(res.headers);
  });

  it('answer a client too slow to send its headers with 408 and close the connection', async () => {
    const { port } = new URL(slow.baseUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('GET /api/auth/me HTTP/1.1\r\nHost: localhost\r\nX-Slow: '));
      let got = '';
      socket.setEncoding('utf8');
      socket.on('data', (c) => (got += c));
      socket.on('end', () => resolve(got));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'request_timeout' });
  });
});

describe('login throttling', () => {
  const db = useFileDatabase();
  // Two instances of the service on the same database; the account-wide delay capped at 3 s.
  const env = { ONEMAP_LOGIN_MAX_DELAY_ACCOUNT_S: '3' };
  const one = useFileServer(db, env);
  const two = useFileServer(db, env);
  const bounded = useFileServer(db, { ONEMAP_LOGIN_THROTTLE_MAX_ROWS: '100', ONEMAP_LOGIN_FREE_FAILURES_ADDRESS: '10000' });

  beforeAll(async () => {
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      await addAccount(db.knex, 'tests', { name, display_name: name, department: 'land', roles: ['reviewer'], password: PASSWORD });
    }
  });

  const login = (base: string, name: string, password: string, address: string) =>
    fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': address }, body: JSON.stringify({ name, password }) });
  /** Lets every current delay end now (the counts stay): instead of waiting 2, 4, 8 … seconds. */
  const endDelays = () => db.knex('login_throttle').update({ blocked_until: db.knex.fn.now() });

  it('count the failures through one instance and refuse through the other (429, Retry-After, error JSON), with each failure audited', async () => {
    for (let i = 0; i < 5; i++) expect((await login(one.baseUrl, 'alice', `guess ${i}`, '203.0.113.5')).status).toBe(401);
    const refused = await login(two.baseUrl, 'alice', PASSWORD, '203.0.113.5');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(2);
    expect(await refused.json()).toMatchObject({ code: 'too_many_attempts', message: expect.stringMatching(/2 s/), details: { retryAfterSeconds: 2 } });
    const failed = await db.knex('audit_log').where({ action: 'auth.login_failed', object: 'alice' }).select('details');
    expect(failed).toHaveLength(5);
    expect(failed.every((f) => f.details.address === '203.0.113.5' && f.details.known_account === true)).toBe(true);
  });

  it('double the delay with every failure past the free ones', async () => {
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) expect((await login(one.baseUrl, 'bob', `guess ${i}`, '203.0.113.9')).status).toBe(401);
    for (let i = 0; i < 5; i++) {
      expect((await login(i % 2 ? one.baseUrl : two.baseUrl, 'bob', `guess again ${i}`, '203.0.113.9')).status).toBe(401);
      const held = await login(one.baseUrl, 'bob', PASSWORD, '203.0.113.9');
      expect(held.status).toBe(429);
      delays.push(Number(held.headers.get('retry-after')));
      await endDelays();
    }
    expect(delays).toEqual([2, 4, 8, 16, 32]);
  });

  it('do not keep the owner out beyond the cap when strangers fail from other addresses', async () => {
    expect((await login(one.baseUrl, 'carol', PASSWORD, '198.51.100.7')).status).toBe(200); // carol's usual place
    const answers: number[] = [];
    for (let i = 0; i < 12; i++) answers.push((await login(i % 2 ? one.baseUrl : two.baseUrl, 'carol', `stranger ${i}`, `203.0.113.${100 + i}`)).status);
    // The strangers are throttled on the account once the free failures are gone …
    expect(answers.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(answers).toContain(429);
    // … but carol at her usual address is not held up at all,
    expect((await login(two.baseUrl, 'carol', PASSWORD, '198.51.100.7')).status).toBe(200);
    // and from a new address she waits at most the account's cap (3 s here).
    await endDelays();
    expect((await login(one.baseUrl, 'carol', 'stranger again', '203.0.113.200')).status).toBe(401);
    const held = await login(one.baseUrl, 'carol', PASSWORD, '198.51.100.99');
    expect(held.status).toBe(429);
    const wait = Number(held.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(3);
    await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    expect((await login(two.baseUrl, 'carol', PASSWORD, '198.51.100.99')).status).toBe(200);
  });

  it('hold up one address guessing many names', async () => {
    for (let i = 0; i < 10; i++) expect((await login(one.baseUrl, `nobody.${i}`, 'guess', '203.0.113.50')).status).toBe(401);
    const held = await login(two.baseUrl, 'dave', PASSWORD, '203.0.113.50');
    expect(held.status).toBe(429);
    // Another address is not.
    expect((await login(two.baseUrl, 'dave', PASSWORD, '203.0.113.51')).status).toBe(200);
  });

  it('count an IPv6 network (/64) as one address, and IPv4-mapped addresses as IPv4', async () => {
    expect(throttledAddress('2001:db8:0:7::1')).toBe('2001:db8:0:7::/64');
    expect(throttledAddress('2001:0db8:0000:0007:ffff:1:2:3')).toBe('2001:db8:0:7::/64');
    expect(throttledAddress('::ffff:192.0.2.9')).toBe('192.0.2.9');
    expect(throttledAddress('192.0.2.9')).toBe('192.0.2.9');
    for (let i = 0; i < 10; i++) expect((await login(one.baseUrl, `nobody.v6.${i}`, 'guess', `2001:db8:0:7::${(i + 1).toString(16)}`)).status).toBe(401);
    expect((await login(two.baseUrl, 'dave', PASSWORD, '2001:db8:0:7:abcd::99')).status).toBe(429);
    expect((await login(two.baseUrl, 'dave', PASSWORD, '2001:db8:0:8::1')).status).toBe(200);
  });

  it('clear the owner’s own failures at their address when they log in', async () => {
    for (let i = 0; i < 4; i++) expect((await login(one.baseUrl, 'dave', `typo ${i}`, '198.51.100.20')).status).toBe(401);
    expect((await login(two.baseUrl, 'dave', PASSWORD, '198.51.100.20')).status).toBe(200);
    // Four more typos: still 401, not 429 (eight in a row from there would be held up).
    for (let i = 0; i < 4; i++) expect((await login(one.baseUrl, 'dave', `typo again ${i}`, '198.51.100.20')).status).toBe(401);
    expect((await login(one.baseUrl, 'dave', PASSWORD, '198.51.100.20')).status).toBe(200);
  });

  it('keep the table bounded when random names are refused, the most-failed rows kept, forgotten rows purged', async () => {
    await db.knex('login_throttle').delete();
    for (let i = 0; i < 4; i++) await login(bounded.baseUrl, 'erin', `guess ${i}`, '203.0.113.77');
    for (let i = 0; i < 60; i++) {
      const r = await login(bounded.baseUrl, `x${randomBytes(6).toString('hex')}`, 'guess', `192.0.2.${i % 4}`);
      expect(r.status).toBe(401);
    }
    // 60 failures with new names make 120 name rows; the cap holds 100.
    const [{ count }] = await db.knex('login_throttle').count<{ count: string }[]>('* as count');
    expect(Number(count)).toBeLessThanOrEqual(100);
    expect(Number(count)).toBeGreaterThan(50);
    const top = await db.knex('login_throttle').max('failures as most').first();
    expect(Number(top!.most)).toBe(15); // an address of the flood (60 / 4): the rows with the most failures stay
    expect(await db.knex('login_throttle').where({ failures: 4 }).count<{ count: string }[]>('* as count')).toEqual([{ count: '3' }]); // erin's three
    // Forgotten rows go at the next write.
    await db.knex('login_throttle').update({ forget_at: db.knex.raw("now() - interval '1 second'") });
    await login(bounded.baseUrl, 'nobody.at.all', 'guess', '192.0.2.200');
    expect(Number((await db.knex('login_throttle').count<{ count: string }[]>('* as count'))[0].count)).toBe(3);
  });
});
