// Reads on PostgreSQL streaming replicas (ONEMAP_READ_DATABASE_URL), writes on the primary.
//
// A read goes to a replica only when that replica has replayed everything the answer must show,
// measured in WAL positions (LSNs), never in seconds:
//   - the data versions it depends on: a layer's version is known together with the primary's WAL
//     position at which it was read (layers/versions.ts), so a tile cached under version v is
//     never rendered from a replica that has not replayed v;
//   - the client's own writes: every accepted write answers with the primary's position after it
//     (the `onemap_wal` cookie for browsers, the `Onemap-Wal-Position` header for scripts, which
//     send it back as a request header of the same name), and this process remembers it per
//     credential as well; a later read from that client waits for no replica: it goes to the
//     primary until a replica is past that position.
// Each replica's replay position is polled (REPLICA_POLL_MS); one that does not answer, or is not a
// standby (pg_is_in_recovery() false), takes no reads until it answers again as one. Without a
// replica every read is the primary's, and none of this costs a query.
import type { Request, RequestHandler, Response } from 'express';
import { parseCookie } from 'cookie';
import type { Knex } from 'knex';
import { LRUCache } from 'lru-cache';
import { AppError } from './errors';
import { log } from './log';

/** How often each replica's replay position is read. */
export const REPLICA_POLL_MS = 100;
export const WAL_COOKIE = 'onemap_wal';
export const WAL_HEADER = 'Onemap-Wal-Position';

/** A WAL position ('16/B374D848') as a number, or undefined when the text is not one. */
export function parseLsn(text: string | undefined | null): bigint | undefined {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text?.trim() ?? '');
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : undefined;
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export interface Replica {
  /** Where it is (password redacted), for the health answer and logs. */
  name: string;
  knex: Knex;
}

export interface ReplicaStatus {
  name: string;
  /** Answering as a standby at the last poll. */
  up: boolean;
  /** Its replay position at the last poll. */
  replayed?: string;
  /** Bytes of WAL the primary has written that it had not replayed at the last poll. */
  lagBytes?: number;
  /** Reads it has served since start. */
  reads: number;
}

interface Tracked extends Replica {
  up: boolean;
  replayed: bigint;
  reads: number;
  polling: boolean;
}

/** Chooses the pool each read runs on: a replica that is far enough, else the primary. */
export class ReadRouter {
  private readonly replicas: Tracked[];
  private timer?: NodeJS.Timeout;
  private next = 0;
  private primaryPos = 0n;
  /** Reads the primary served, since start. */
  primaryReads = 0;

  constructor(
    readonly primary: Knex,
    replicas: Replica[],
  ) {
    this.replicas = replicas.map((r) => ({ ...r, up: false, replayed: 0n, reads: 0, polling: false }));
  }

  /** True when there is at least one replica to route to. */
  get enabled(): boolean {
    return this.replicas.length > 0;
  }

  /** Reads every replica's position once, then keeps polling. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    await this.poll();
    this.timer = setInterval(() => void this.poll(), REPLICA_POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.replicas.filter((r) => r.knex !== this.primary).map((r) => r.knex.destroy()));
  }

  /**
   * The pool to read from when the answer must show everything up to WAL position `atLeast`
   * (undefined: nothing in particular). Replicas far enough take turns; else the primary.
   */
  pick(atLeast: bigint | undefined = 0n): Knex {
    const n = this.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = this.replicas[(this.next + i) % n];
      if (r.up && r.replayed >= atLeast) {
        this.next = (this.next + i + 1) % n;
        r.reads++;
        return r.knex;
      }
    }
    this.primaryReads++;
    return this.primary;
  }

  /** The primary's current WAL position (after a write: a position that includes it). */
  async primaryPosition(): Promise<bigint> {
    const { rows } = await this.primary.raw<{ rows: { lsn: string }[] }>('SELECT pg_current_wal_lsn()::text AS lsn');
    const pos = parseLsn(rows[0].lsn)!;
    if (pos > this.primaryPos) this.primaryPos = pos;
    return pos;
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({
      name: r.name,
      up: r.up,
      ...(r.up ? { replayed: formatLsn(r.replayed), lagBytes: Number(this.primaryPos > r.replayed ? this.primaryPos - r.replayed : 0n) } : {}),
      reads: r.reads,
    }));
  }

  private async poll(): Promise<void> {
    await Promise.all([
      this.primaryPosition().catch(() => undefined),
      ...this.replicas.map(async (r) => {
        if (r.polling) return;
        r.polling = true;
        try {
          const { rows } = await r.knex.raw<{ rows: { standby: boolean; lsn: string | null }[] }>(
            'SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS lsn',
          );
          const lsn = rows[0].standby ? parseLsn(rows[0].lsn) : undefined;
          if (lsn === undefined) {
            if (r.up || r.replayed === 0n) log.warn({ replica: r.name }, 'read replica: not a standby (pg_is_in_recovery() is false); it takes no reads');
            r.up = false;
            r.replayed = -1n;
            return;
          }
          if (!r.up) log.info({ replica: r.name, replayed: formatLsn(lsn) }, 'read replica: taking reads');
          r.up = true;
          if (lsn > r.replayed) r.replayed = lsn;
        } catch (err) {
          if (r.up) log.warn({ replica: r.name, err: (err as Error).message }, 'read replica: not answering; its reads go to the primary');
          r.up = false;
        } finally {
          r.polling = false;
        }
      }),
    ]);
  }
}

/** How long a browser keeps the position of its last write (the cookie's max age). */
const WAL_COOKIE_MAX_AGE_MS = 3_600_000;
const REMEMBERED_CREDENTIALS = 10_000;
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Read-your-own-writes across instances and replicas. `middleware` puts on every request the WAL
 * position its reads must reach (res.locals.readAfter): the largest of the request's
 * `Onemap-Wal-Position` header, its `onemap_wal` cookie and this process's memory of the
 * credential's last write. `afterWrite` (called by the route contracts before an accepted write's
 * answer is sent) reads the primary's position and hands it to the client.
 */
export class Consistency {
  private readonly lastWrite = new LRUCache<string, bigint>({ max: REMEMBERED_CREDENTIALS, ttl: WAL_COOKIE_MAX_AGE_MS });

  constructor(private readonly router: ReadRouter) {}

  get enabled(): boolean {
    return this.router.enabled;
  }

  middleware(): RequestHandler {
    return (req, res, next) => {
      if (!this.enabled) return next();
      const header = req.get(WAL_HEADER);
      const fromHeader = parseLsn(header);
      if (header !== undefined && fromHeader === undefined) {
        return next(new AppError(400, 'invalid_header', `header ${WAL_HEADER}: expected a WAL position such as 16/B374D848 (as a write answered it), got ${JSON.stringify(header.slice(0, 40))}`, { header: WAL_HEADER }));
      }
      // A cookie that is not a position (tampered, truncated) is as if absent: it only ever routes reads.
      const fromCookie = parseLsn(parseCookie(req.get('Cookie') ?? '')[WAL_COOKIE]);
      const credential = (res.locals.credential as { id?: string } | undefined)?.id;
      const remembered = credential ? this.lastWrite.get(credential) : undefined;
      res.locals.readAfter = [fromHeader, fromCookie, remembered].reduce<bigint>((a, b) => (b !== undefined && b > a ? b : a), 0n);
      if (!SAFE.has(req.method) && credential) {
        // A write answered by a handler of its own (a 204, a stream) is remembered when it is done.
        res.on('finish', () => {
          if (res.statusCode < 400 && !res.locals.wrotePosition) void this.router.primaryPosition().then((p) => this.remember(credential, p)).catch(() => undefined);
        });
      }
      next();
    };
  }

  /** After an accepted write, before its answer: the position that includes it, to the client. */
  async afterWrite(req: Request, res: Response): Promise<void> {
    if (!this.enabled || SAFE.has(req.method) || res.statusCode >= 400) return;
    const pos = await this.router.primaryPosition();
    res.locals.wrotePosition = pos;
    const credential = (res.locals.credential as { id?: string } | undefined)?.id;
    if (credential) this.remember(credential, pos);
    res.set(WAL_HEADER, formatLsn(pos));
    res.cookie(WAL_COOKIE, formatLsn(pos), { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/', maxAge: WAL_COOKIE_MAX_AGE_MS });
  }

  private remember(credential: string, pos: bigint) {
    const before = this.lastWrite.get(credential);
    if (before === undefined || pos > before) this.lastWrite.set(credential, pos);
  }

  /** The pool for a read of this request that must also show the given data position (a layer's version). */
  reader(res: Response | undefined, atLeast: bigint = 0n): Knex {
    if (!this.enabled) return this.router.primary;
    const own = (res?.locals.readAfter as bigint | undefined) ?? 0n;
    return this.router.pick(own > atLeast ? own : atLeast);
  }
}

/**
 * The pool for one read of a request (undefined: a read shared by many requests, no client's own
 * writes in it): `layerIds` are the layers whose current data versions the answer shows (read their
 * versions first, then call this); `atLeast` another WAL position it must show. Given to the routes
 * that read.
 */
export type Reader = (res: Response | undefined, layerIds?: Iterable<string>, atLeast?: bigint) => Knex;
