// Small HTTP helpers for tests: JSON with status, and a JSON error's shape.
import { expect } from 'vitest';

export async function getJson<T = any>(url: string, init?: RequestInit): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

/** Asserts a 4xx JSON error with a code and a message. */
export async function expectError(url: string, status: number, code: string) {
  const r = await getJson(url);
  expect(r.status, `${url} → ${JSON.stringify(r.body)}`).toBe(status);
  expect(r.body.code).toBe(code);
  expect(typeof r.body.message).toBe('string');
  expect(r.body.message.length).toBeGreaterThan(10);
  return r.body;
}
