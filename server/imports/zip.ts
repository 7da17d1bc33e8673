// Reading a delivered zip safely (yauzl: random access through the central directory, so entries
// stream straight out of the archive without being extracted): the entry count and the declared
// sizes are checked before anything is inflated, and the bytes actually inflated are counted
// while reading, so an archive whose headers lie is stopped mid-stream (yauzl also refuses an
// entry that inflates beyond its declared size). Entry names that are absolute or climb out with
// `..` are refused, never opened. Names without the UTF-8 flag are decoded as GB18030 when they
// are not valid UTF-8 (Chinese Windows zip tools write the system code page).
import { Transform, type Readable } from 'node:stream';
import { isUtf8 } from 'node:buffer';
import yauzl from 'yauzl';
import { decode } from './encoding';
import type { ImportLimits, ImportProblem } from './types';

export interface ZipEntry {
  /** Decoded path inside the archive, '/'-separated. */
  name: string;
  /** Uncompressed size from the central directory (bytes). */
  size: number;
  raw: yauzl.Entry;
}

export interface SafeZip {
  /** The entries that are safe to read (files only, no folders). */
  entries: ZipEntry[];
  /** An entry's bytes, inflated, counted against the archive's limit; ends early on a failure. */
  open(entry: ZipEntry): Promise<Readable>;
  /** Why reading an entry stopped early (the inflated-size limit, damaged data), if it did. */
  failure(entry: ZipEntry): Error | undefined;
  /** A whole (small) entry as bytes (throws the entry's failure). */
  readAll(entry: ZipEntry): Promise<Buffer>;
  close(): void;
}

/** Raised inside a stream when the archive inflates past its limit. */
export class ZipLimitError extends Error {
  constructor(readonly entry: string, readonly limit: number) {
    super(`the archive inflates beyond ${limit} bytes (stopped while reading '${entry}')`);
  }
}

const UNICODE_PATH_EXTRA = 0x7075; // Info-ZIP Unicode Path extra field: version, CRC-32, UTF-8 name

function entryName(e: yauzl.Entry): string {
  const raw = e.fileName as unknown as Buffer; // decodeStrings: false gives the raw bytes
  if (e.generalPurposeBitFlag & 0x800) return raw.toString('utf8');
  const up = e.extraFields.find((f) => f.id === UNICODE_PATH_EXTRA);
  if (up && up.data.length > 5 && up.data[0] === 1) return up.data.subarray(5).toString('utf8');
  return isUtf8(raw) ? raw.toString('utf8') : decode(raw, 'gb18030');
}

/** Why an entry name is unsafe to use, or undefined. Backslashes count as separators (Windows tools). */
export function unsafeEntryName(name: string): string | undefined {
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[a-zA-Z]:/.test(n)) return 'an absolute path';
  if (n.split('/').includes('..')) return "a path that climbs out of the archive with '..'";
  if (n.includes('\0')) return 'a NUL character';
  return undefined;
}

/**
 * Opens a zip and lists its safe entries. Problems (too many entries, declared size over the
 * limit, unsafe names, a corrupt directory) are pushed with the entry name; returns undefined when
 * the archive cannot be read at all.
 */
export async function openZip(path: string, file: string, limits: ImportLimits, problems: ImportProblem[]): Promise<SafeZip | undefined> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false });
  } catch (err) {
    problems.push({ code: 'zip_corrupt', file, message: `not a readable zip archive: ${(err as Error).message}`, hint: 'the upload may be truncated; send the file again' });
    return undefined;
  }
  if (zip.entryCount > limits.maxEntries) {
    // The end-of-central-directory record says how many entries follow: refuse before reading them.
    problems.push({ code: 'zip_too_many_entries', file, message: `the archive has ${zip.entryCount} entries; at most ${limits.maxEntries} are accepted` });
    zip.close();
    return undefined;
  }
  const entries: ZipEntry[] = [];
  let declared = 0;
  try {
    for await (const e of zip.eachEntry()) {
      const name = entryName(e);
      if (name.endsWith('/') || name.endsWith('\\')) continue; // a folder
      const unsafe = unsafeEntryName(name);
      if (unsafe) {
        problems.push({ code: 'zip_unsafe_path', file: name, message: `the entry name is ${unsafe}; it was not read`, hint: 'zip the files themselves, without absolute or parent paths' });
        continue;
      }
      declared += e.uncompressedSize;
      entries.push({ name: name.replace(/\\/g, '/'), size: e.uncompressedSize, raw: e });
    }
  } catch (err) {
    problems.push({ code: 'zip_corrupt', file, message: `the archive's directory is damaged: ${(err as Error).message}`, hint: 'the upload may be truncated; send the file again' });
    zip.close();
    return undefined;
  }
  if (declared > limits.maxUncompressedBytes) {
    problems.push({ code: 'zip_too_large', file, message: `the archive declares ${declared} uncompressed bytes; at most ${limits.maxUncompressedBytes} are accepted` });
    zip.close();
    return undefined;
  }

  // Bytes inflated so far, per entry at its furthest read (an entry read twice counts once).
  const furthest = new Map<string, number>();
  const failures = new Map<string, Error>();
  let total = 0;
  // The stream handed out never emits 'error': a failure (limit reached, damaged data) is recorded
  // for failure(entry) and the stream just ends. (Readers built on stream-source turn an 'error'
  // event that arrives between two reads into an unhandled promise rejection.)
  const open = async (entry: ZipEntry): Promise<Readable> => {
    const inflated = await zip.openReadStreamPromise(entry.raw);
    let seen = 0;
    let stopped = false;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        if (stopped) return done();
        seen += chunk.length;
        const before = furthest.get(entry.name) ?? 0;
        if (seen > before) {
          total += seen - before;
          furthest.set(entry.name, seen);
        }
        if (total > limits.maxUncompressedBytes) {
          stop(new ZipLimitError(entry.name, limits.maxUncompressedBytes));
          return done();
        }
        done(null, chunk);
      },
    });
    const stop = (err: Error) => {
      if (stopped) return;
      stopped = true;
      if (!failures.has(entry.name)) failures.set(entry.name, Object.assign(err, { entry: entry.name }));
      inflated.unpipe(counter);
      inflated.destroy();
      counter.end();
    };
    inflated.on('error', stop);
    counter.on('close', () => inflated.destroy());
    return inflated.pipe(counter);
  };
  return {
    entries,
    open,
    failure: (entry) => failures.get(entry.name),
    async readAll(entry) {
      const chunks: Buffer[] = [];
      for await (const c of await open(entry)) chunks.push(c as Buffer);
      const err = failures.get(entry.name);
      if (err) throw err;
      return Buffer.concat(chunks);
    },
    close: () => zip.close(),
  };
}

/** The problem for an error met while inflating an entry. */
export function zipReadProblem(err: unknown, entry: string): ImportProblem {
  if (err instanceof ZipLimitError) return { code: 'zip_too_large', file: err.entry, message: err.message };
  const m = /too many bytes in the stream\. expected (\d+)/.exec((err as Error).message);
  if (m) return { code: 'zip_too_large', file: entry, message: `the entry inflates beyond the ${m[1]} bytes its header declares (a zip bomb, or a damaged archive); reading stopped there` };
  return { code: 'zip_corrupt', file: entry, message: `the entry cannot be inflated: ${(err as Error).message}`, hint: 'the archive may be damaged or truncated' };
}
