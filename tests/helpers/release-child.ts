// A process that prepares or publishes a release on a test database, for the fault tests: they
// kill it while its transaction is open (tests/releases-archive.test.ts).
//   tsx tests/helpers/release-child.ts <database> prepare
//   tsx tests/helpers/release-child.ts <database> publish <number>
import { loadRules } from '../../server/conflicts/rules';
import { loadRegistry } from '../../server/layers/registry';
import { Releases } from '../../server/releases/store';
import { openTestDatabase } from './db';

const [database, action, number] = process.argv.slice(2);
const db = await openTestDatabase(database);
const registry = loadRegistry();
const releases = new Releases(db.knex, registry, loadRules(registry));
const account = async (name: string) => ({ ...(await db.knex('accounts').where({ name }).first('id', 'name', 'roles', 'department')) });
if (action === 'prepare') await releases.prepare(await account('planning.editor'), { title: '将被中断的版本' });
else await releases.publish(await account('planning.reviewer'), Number(number), { reviewNumber: '晋S(2015)404号' });
await db.knex.destroy();
