// Failed logins throttled in PostgreSQL (table login_throttle, its SQL in
// migrations/functions/login-throttle.sql), so every instance of the service counts the same
// failures and a process holds nothing. Three counters, each with free failures and then a delay
// that doubles (2 s, 4 s, 8 s …) up to a cap:
//   - the address, for any names: one address cannot guess many names (free 10, cap 15 min; IPv6 by its /64);
//   - the account name, from anywhere: a crowd of addresses cannot guess one password fast (free 5,
//     cap 60 s: the longest a stranger can keep the owner waiting);
//   - the name from the address: a person's own mistakes (free 5, cap 15 min), cleared by their success.
// The account's counter does not hold up (nor count the failures of) an address the account logged
// in from lately (login_known_addresses, 90 days): there its owner meets only what is theirs.
// Each row is forgotten a while after its last failure (1 h) and purged on write; the table is
// capped. A try is allowed while no counter that applies is blocked; two instances checking at
// the same instant may both let one through, which the counts then catch up with.
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Knex } from 'knex';
import { log } from '../platform/log';

/** The throttle's numbers (from the ONEMAP_LOGIN_* settings). */
export interface ThrottlePolicy {
  /** Failures of a name (from anywhere, and from one address) before delays start. */
  freePerAccount: number;
  /** Failures from one address before delays start. */
  freePerAddress: number;
  /** Longest delay (s) of a name's own counter: what a stranger can cost its owner. */
  maxDelayAccountS: number;
  /** Longest delay (s) of an address, and of a name from an address. */
  maxDelayAddressS: number;
  /** Seconds after its last failure that a counter is forgotten. */
  forgetAfterS: number;
  /** Most rows of login_throttle. */
  maxRows: number;
}

export const DEFAULT_POLICY: ThrottlePolicy = { freePerAccount: 5, freePerAddress: 10, maxDelayAccountS: 60, maxDelayAddressS: 900, forgetAfterS: 3600, maxRows: 100_000 };

/** Days an address an account logged in from stays known to it. */
const KNOWN_DAYS = 90;
/** Most known addresses kept per account (the most recent). */
const KNOWN_PER_ACCOUNT = 20;

/** 32-byte key of a counter: what it counts, and who. */
const digest = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest();

/**
 * The address as the throttle counts it: IPv4 as it is (also when IPv4-mapped, ::ffff:a.b.c.d), IPv6
 * by its /64, the smallest network one subscriber is given (else every address of it is a new one).
 */
export function throttledAddress(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (isIP(ip) !== 6) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('%')[0].split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** Who is trying: the request's address, the name typed, and the account of that name if there is one. */
export interface LoginTry {
  address: string;
  name: string;
  accountId?: number;
}

/** Failed logins by address and by account, in PostgreSQL. */
export class LoginThrottle {
  constructor(
    private readonly knex: Knex,
    private readonly policy: ThrottlePolicy = DEFAULT_POLICY,
  ) {}

  private keys(t: LoginTry) {
    const address = throttledAddress(t.address);
    return { address: digest('address', address), account: digest('account', t.name), pair: digest('pair', t.name, address) };
  }

  /** Whether the account logged in from the address lately (then its account-wide counter does not apply). */
  private async known(t: LoginTry, addressKey: Buffer): Promise<boolean> {
    // The same query whether the name is an account or not (id 0 is none): no timing to tell them apart.
    const row = await this.knex('login_known_addresses')
      .where({ account_id: t.accountId ?? 0, address_key: addressKey })
      .andWhere('last_success_at', '>', this.knex.raw(`now() - interval '${KNOWN_DAYS} days'`))
      .first('account_id');
    return Boolean(row);
  }

  /** Seconds to wait before the next try, or 0 when it is allowed. */
  async wait(t: LoginTry): Promise<number> {
    const k = this.keys(t);
    const keys = [k.address, k.pair, ...((await this.known(t, k.address)) ? [] : [k.account])];
    const { rows } = await this.knex.raw<{ rows: { wait_s: number | null }[] }>(
      `SELECT max(ceil(extract(epoch FROM blocked_until - now())))::integer AS wait_s
         FROM login_throttle WHERE key = ANY (?::bytea[]) AND blocked_until > now() AND forget_at > now()`,
      [keys],
    );
    return Math.max(0, rows[0]?.wait_s ?? 0);
  }

  /** Counts a failed login on every counter that applies; purges what is forgotten (and beyond the cap). */
  async fail(t: LoginTry): Promise<void> {
    const k = this.keys(t);
    const p = this.policy;
    const counters: [Buffer, number, number][] = [
      [k.address, p.freePerAddress, p.maxDelayAddressS],
      [k.pair, p.freePerAccount, p.maxDelayAddressS],
    ];
    if (!(await this.known(t, k.address))) counters.push([k.account, p.freePerAccount, p.maxDelayAccountS]);
    let grew = false;
    for (const [key, free, cap] of counters) {
      const { rows } = await this.knex.raw<{ rows: { inserted: boolean }[] }>('SELECT inserted FROM login_throttle_fail(?, ?, ?, ?)', [key, free, cap, p.forgetAfterS]);
      grew ||= rows[0].inserted;
    }
    try {
      // The cap costs a scan of up to maxRows index entries: only when a row was added.
      await this.knex.raw('SELECT login_throttle_purge(?, ?)', [p.maxRows, grew]);
    } catch (err) {
      // Best effort (e.g. two instances purging the same rows at once): the next failure purges again.
      log.warn({ err }, 'login throttle: purge failed');
    }
  }

  /** A successful login: the name's failures from this address are cleared (not the address's, nor the account's elsewhere) and the address becomes known to the account. */
  async succeed(t: LoginTry & { accountId: number }): Promise<void> {
    const k = this.keys(t);
    await this.knex('login_throttle').where({ key: k.pair }).delete();
    await this.knex.raw(
      `INSERT INTO login_known_addresses (account_id, address_key, last_success_at) VALUES (?, ?, now())
       ON CONFLICT (account_id, address_key) DO UPDATE SET last_success_at = now()`,
      [t.accountId, k.address],
    );
    // Bounded per account: the most recent few, and none older than KNOWN_DAYS.
    await this.knex.raw(
      `DELETE FROM login_known_addresses WHERE account_id = ? AND (last_success_at < now() - interval '${KNOWN_DAYS} days'
         OR address_key NOT IN (SELECT address_key FROM login_known_addresses WHERE account_id = ? ORDER BY last_success_at DESC LIMIT ${KNOWN_PER_ACCOUNT}))`,
      [t.accountId, t.accountId],
    );
  }
}
