// What the benchmarks share: the fixed tile list every map benchmark draws from, and the service
// as its own process (`npm start`'s server/main.ts) on a free port.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { PROJECT_ROOT } from '../server/platform/config';
import { tileContaining } from '../server/tiles/mvt';

/** The centres of the fixed tile list: the central city, the mining districts, 阳高县 and 灵丘县. */
export const CENTRES: [string, number, number][] = [
  ['central city', 113.3, 40.08],
  ['mining area', 113.15, 40.02],
  ['Yanggao', 113.75, 40.36],
  ['Lingqiu', 114.23, 39.44],
];

/** The fixed tile addresses: for each centre and zoom 8–16 its tile and, from z12, the 8 around it (147). */
export function tileAddresses(): { z: number; x: number; y: number }[] {
  const out = [];
  for (const [, lon, lat] of CENTRES)
    for (let z = 8; z <= 16; z++) {
      const [x, y] = tileContaining(lon, lat, z);
      const r = z >= 12 ? 1 : 0;
      for (let dx = -r; dx <= r; dx++) for (let dy = -r; dy <= r; dy++) out.push({ z, x: x + dx, y: y + dy });
    }
  return out;
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

export interface BenchService {
  url: string;
  pid: number;
  /** SIGTERM (unless it has exited) and its exit code. */
  stop(): Promise<number | null>;
}

/**
 * The service as its own process with `env` over this process's environment (LOG_LEVEL warn, a
 * free port on 127.0.0.1), up once /healthz answers 200. `logFile`: its output there instead of
 * this process's; `nodeArgs`: node options before the script (e.g. --cpu-prof).
 */
export async function startService(env: Record<string, string>, opts: { logFile?: string; nodeArgs?: string[]; upWithinS?: number } = {}): Promise<BenchService> {
  const port = await freePort();
  const fd = opts.logFile ? fs.openSync(opts.logFile, 'w') : undefined;
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'server/main.ts'], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: fd === undefined ? ['ignore', 'inherit', 'inherit'] : ['ignore', fd, fd],
  });
  let exited: number | null = null;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exited = code ?? -1))));
  const url = `http://127.0.0.1:${port}`;
  const upWithinS = opts.upWithinS ?? 120;
  let up = false;
  for (let i = 0; i < upWithinS * 10 && !up && exited === null; i++) {
    try {
      up = (await fetch(`${url}/healthz`)).ok;
    } catch {
      /* not up yet */
    }
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async () => {
    if (exited === null) child.kill('SIGTERM');
    const code = await exit;
    if (fd !== undefined) fs.closeSync(fd);
    return code;
  };
  if (!up) {
    const why = exited !== null ? `exited (${exited})` : `did not come up in ${upWithinS} s`;
    await stop();
    throw new Error(`the service ${why}${opts.logFile ? `; its log: ${opts.logFile}` : ''}`);
  }
  return { url, pid: child.pid!, stop };
}
