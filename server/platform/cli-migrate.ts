// `npm run db:migrate`: applies the migrations and the database code (migrations/functions/) to
// the configured database and exits.
import { loadConfig } from './config';
import { migrate, openDatabase } from './db';

const db = await openDatabase(loadConfig());
try {
  const applied = await migrate(db.knex);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database schema is up to date');
} finally {
  await db.close();
}
