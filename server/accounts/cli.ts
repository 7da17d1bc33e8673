// `npm run accounts -- <command>`: account management from the server's shell, for the first admin
// of a production database (the admin API needs an admin to call it) and for emergencies.
//
//   add <name> --role <role> [--role …] [--department <id>] [--display-name <text>]
//       the password from ONEMAP_NEW_PASSWORD, else the first line of stdin (at least 10 characters)
//   list
//   revoke <name>        every session and API token of the account
//   deactivate <name>    the account can no longer log in; its credentials are revoked
//
// The audit trail names the actor `cli:<system user>`.
import os from 'node:os';
import { parseArgs } from 'node:util';
import { loadRegistry } from '../layers/registry';
import { loadConfig } from '../platform/config';
import { migrate, openDatabase } from '../platform/db';
import { validateBody } from '../platform/contract';
import { log } from '../platform/log';
import { addAccount, listAccounts, revokeAccount, updateAccount } from './admin';
import { ROLES } from './needs';
import { accountBodies } from './schemas';

const USAGE = `usage: npm run accounts -- add <name> --role <role> [--role <role>] [--department <id>] [--display-name <text>]
       (roles: ${ROLES.join(', ')}; password: ONEMAP_NEW_PASSWORD or the first line of stdin)
       npm run accounts -- list
       npm run accounts -- revoke <name>
       npm run accounts -- deactivate <name>`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    role: { type: 'string', multiple: true },
    department: { type: 'string' },
    'display-name': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (!process.env.LOG_LEVEL) log.level = 'warn';

const [command, name] = positionals;
if (values.help || !command) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 1);
}
if (!['add', 'list', 'revoke', 'deactivate'].includes(command) || (command !== 'list' && !name)) {
  console.error(USAGE);
  process.exit(1);
}

/** The new password: ONEMAP_NEW_PASSWORD (removed from the environment here), else stdin's first line. */
async function readPassword(): Promise<string> {
  const fromEnv = process.env.ONEMAP_NEW_PASSWORD;
  delete process.env.ONEMAP_NEW_PASSWORD;
  if (fromEnv) return fromEnv;
  if (process.stdin.isTTY) process.stderr.write(`password for ${name} (at least 10 characters; input is shown): `);
  let text = '';
  for await (const chunk of process.stdin) {
    text += chunk;
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0];
}

const actor = `cli:${os.userInfo().username}`;
// ONEMAP_NEW_PASSWORD is this command's, not a setting of the service (loadConfig refuses unknown ONEMAP_* names).
const env = { ...process.env };
delete env.ONEMAP_NEW_PASSWORD;
const password = command === 'add' ? await readPassword() : undefined;
const db = await openDatabase(loadConfig(env));
let code = 0;
try {
  await migrate(db.knex);
  if (command === 'list') {
    for (const a of await listAccounts(db.knex)) {
      console.log(`${a.name.padEnd(24)} ${(a.department ?? '-').padEnd(10)} ${a.roles.join(',').padEnd(22)} ${a.active ? 'active  ' : 'inactive'} ${a.demo ? 'demo ' : '     '} sessions ${a.sessions}, tokens ${a.tokens}  ${a.display_name}`);
    }
  } else if (command === 'add') {
    // The same checks as POST /api/accounts (every problem named), then the same function.
    const { create } = accountBodies(loadRegistry().departments.map((d) => d.id));
    const body = validateBody(create, { name, display_name: values['display-name'] ?? name, department: values.department ?? null, roles: values.role ?? [], password });
    const a = await addAccount(db.knex, actor, body);
    console.log(`created ${a.name} (${a.roles.join(', ')}${a.department ? `, ${a.department}` : ''})`);
  } else if (command === 'revoke') {
    const { revoked } = await revokeAccount(db.knex, actor, name);
    console.log(`revoked ${revoked} session(s) and token(s) of ${name}`);
  } else {
    await updateAccount(db.knex, actor, name, { active: false });
    console.log(`deactivated ${name}; its sessions and tokens are revoked`);
  }
} catch (err) {
  console.error(`accounts ${command}: ${(err as Error).message}`);
  // A refused argument: every problem, one a line.
  const problems = (err as { details?: { problems?: { path: string; message: string }[] } }).details?.problems ?? [];
  if (problems.length > 1) for (const p of problems) console.error(`  ${p.path || '(arguments)'}: ${p.message}`);
  code = 1;
} finally {
  await db.close();
}
process.exit(code);
