// Temporary files and folders of the service (an upload being imported, an export being written,
// a release archive being built), named after the process that made them, so that what a killed
// process left is known for its own at the next start and removed (removeStaleScratch, called by
// server/recovery.ts). The system's temporary folder is this host's: the process ids are this
// host's (not shared with containers of another process namespace).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** onemap-work-<pid>-<what>-…: the pid of the process the entry belongs to. */
const PREFIX = 'onemap-work-';
const NAME = /^onemap-work-(\d+)-/;

/** A path for a temporary file of this process (the caller creates and deletes it). */
export const scratchFile = (what: string) => path.join(os.tmpdir(), `${PREFIX}${process.pid}-${what}-${randomUUID()}`);

/** A new temporary folder of this process (the caller removes it). */
export const scratchFolder = (what: string) => fs.mkdtemp(path.join(os.tmpdir(), `${PREFIX}${process.pid}-${what}-`));

/** Whether a process of that id is alive on this host (one of another user's counts). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temporary files and folders of processes that are gone; returns their paths. */
export async function removeStaleScratch(dir = os.tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    const p = path.join(dir, name);
    await fs.rm(p, { recursive: true, force: true });
    removed.push(p);
  }
  return removed;
}
