// Once per test run: a fresh database with the demo data set, shared read-only by the tests that
// need the running service (tests that write make their own with useTestDatabase()), and an API
// token of a staff account on it (the working data needs an account: helpers/auth.ts staffHeaders).
import type { TestProject } from 'vitest/node';
import { issueCredential } from '../../server/accounts/accounts';
import { loadDemo } from '../../server/demo/load';
import { dropTestDatabase, freshName, openTestDatabase } from './db';

declare module 'vitest' {
  export interface ProvidedContext {
    demoDatabase: string;
    /** A bearer token of STAFF_ACCOUNT (helpers/auth.ts) on the demo database. */
    staffToken: string;
  }
}

/** The account the tests on the shared demo database read the working data as (a reviewer: staff, no admin). */
export const STAFF_ACCOUNT = 'planning.reviewer';

export default async function setup(project: TestProject) {
  const name = freshName('onemap_test_demo');
  const db = await openTestDatabase(name);
  try {
    await loadDemo(db.knex, { scale: 'demo' });
    const staff = await db.knex('accounts').where({ name: STAFF_ACCOUNT }).first('id');
    const { token } = await issueCredential(db.knex, staff.id, 'token', { label: 'tests: reads of the shared demo database', ttlMs: 86_400_000 });
    project.provide('staffToken', token);
  } catch (err) {
    await db.close();
    await dropTestDatabase(name);
    throw err;
  }
  project.provide('demoDatabase', name);
  // Keep the embedded cluster up for the whole run: the knex pool closes, the cluster stays.
  await db.knex.destroy();
  return async () => {
    await dropTestDatabase(name);
    await db.close();
  };
}
