// `npm run backup` and `npm run restore` (backup.ts):
//
//   npm run backup [-- --out <file.dump>]
//       the configured database to <file.dump> (default <data dir>/backups/onemap-<db>-<time>.dump)
//       and its manifest <file.json>: SHA-256, the verified audit head, the counts
//   npm run restore -- <file.dump> [--database <name>] [--replace]
//       into <name> (default the configured database), checked before it takes the name; an
//       existing database is replaced only with --replace (stop the service on it first)
import { parseArgs } from 'node:util';
import { loadConfig } from './config';
import { backup, BackupError, restore } from './backup';
import { log } from './log';

const USAGE = `usage: npm run backup [-- --out <file.dump>]
       npm run restore -- <file.dump> [--database <name>] [--replace]`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string' }, database: { type: 'string' }, replace: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
});
if (!process.env.LOG_LEVEL) log.level = 'warn';
const [command, file] = positionals;
const config = loadConfig();
try {
  if (values.help || !command) {
    console.log(USAGE);
  } else if (command === 'backup' && !file) {
    const { file: out, manifestFile, manifest } = await backup(config, { out: values.out });
    const head = manifest.audit.head;
    console.log(`backup of ${manifest.database}: ${out} (${(manifest.dump.size / 1e6).toFixed(1)} MB, SHA-256 ${manifest.dump.sha256})`);
    console.log(`manifest: ${manifestFile}; audit chain verified, ${manifest.audit.entries} entries, head #${head?.id ?? '-'} ${head?.hash ?? ''}`);
  } else if (command === 'restore' && file) {
    const r = await restore(config, file, { database: values.database, replace: values.replace });
    console.log(`restored ${file} into ${r.database}${r.replaced ? ' (replaced)' : ''}: audit chain verified, ${r.audit.entries} entries, head #${r.audit.head?.id ?? '-'} ${r.audit.head?.hash ?? ''}; counts as in the backup`);
  } else {
    console.error(USAGE);
    process.exitCode = 2;
  }
} catch (err) {
  if (!(err instanceof BackupError)) throw err;
  console.error(`${command}: ${err.message}`);
  process.exitCode = 1;
}
