// What a killed process (SIGKILL, a crash, a lost machine) leaves behind, cleaned up at the next
// start. PostgreSQL rolls back its open transactions by itself (a layer, a run's results, a case, an
// application is as before or, when it was killed inside COMMIT, as after); left are
//   - a conflict detection run recorded as 'running': recorded as failed, 'interrupted' (its
//     liveness lock is gone with its connection: conflicts/run.ts);
//   - an import's rows in the shared staging tables (import_runs, import_sources, import_staging),
//     when its staging session is gone (imports/stage.ts);
//   - temporary files and folders of processes that are gone: an upload being imported, an export
//     or a release archive being written (platform/scratch.ts).
// Only what belongs to a process that is gone: other instances running now keep theirs.
import type { Knex } from 'knex';
import { recordAllInterrupted } from './conflicts/run';
import { deleteKilledImports } from './imports/stage';
import { log } from './platform/log';
import { removeStaleScratch } from './platform/scratch';

export interface Recovered {
  /** Conflict runs recorded as failed, interrupted. */
  conflictRuns: number[];
  /** Imports whose staged rows were deleted. */
  imports: number[];
  /** Temporary files and folders removed. */
  files: string[];
}

/** Cleans up after processes that were killed (see the top of this file); logs what it found. */
export async function recoverFromKilledProcesses(knex: Knex): Promise<Recovered> {
  const recovered: Recovered = {
    conflictRuns: await recordAllInterrupted(knex),
    imports: await deleteKilledImports(knex),
    files: await removeStaleScratch(),
  };
  if (recovered.conflictRuns.length || recovered.imports.length || recovered.files.length) {
    log.info(recovered, 'start-up: cleaned up after killed processes');
  }
  return recovered;
}
