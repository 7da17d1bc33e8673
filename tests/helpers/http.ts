// Small HTTP helpers for tests: JSON with status, and a JSON error's shape.
import { expect } from 'vitest';

export async function getJson<T = any>(url: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** Asserts a 4xx JSON error with a code and a message (`init`: e.g. an account's headers). */
export async function expectError(url: string, status: number, code: string, init?: RequestInit) {
  const r = await getJson(url, init);
  expect(r.status, `${url} → ${JSON.stringify(r.body)}`).toBe(status);
  expect(r.body.code).toBe(code);
  expect(typeof r.body.message).toBe('string');
  expect(r.body.message.length).toBeGreaterThan(10);
  return r.body;
}

/**
 * fetch, getJson and expectError that send `headers()` (e.g. a staff account's: the working data
 * needs one; `() => as(knex, name)` on a file's own database) with every request, under the
 * request's own headers.
 */
export function requestsAs(headers: () => Record<string, string> | Promise<Record<string, string>>) {
  const withHeaders = async (init: RequestInit = {}): Promise<RequestInit> => ({ ...init, headers: { ...(await headers()), ...((init.headers ?? {}) as Record<string, string>) } });
  return {
    fetch: async (url: string, init?: RequestInit) => fetch(url, await withHeaders(init)),
    getJson: async <T = any>(url: string, init?: RequestInit) => getJson<T>(url, await withHeaders(init)),
    expectError: async (url: string, status: number, code: string, init?: RequestInit) => expectError(url, status, code, await withHeaders(init)),
  };
}
