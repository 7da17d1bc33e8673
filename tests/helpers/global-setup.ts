// Once per test run: a fresh database with the demo data set, shared read-only by the tests that
// need the running service (tests that write make their own with useTestDatabase()).
import type { TestProject } from 'vitest/node';
import { loadDemo } from '../../server/demo/load';
import { dropTestDatabase, freshName, openTestDatabase } from './db';

declare module 'vitest' {
  export interface ProvidedContext {
    demoDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  const name = freshName('onemap_test_demo');
  const db = await openTestDatabase(name);
  try {
    await loadDemo(db.knex, { scale: 'demo' });
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
