// Failed logins limited per address (20) and per address and account name (5), in a sliding window
// of 15 minutes, in memory: enough to stop guessing from one place, and a success clears the name's count.

/** Failed logins per address and per address + name, in a sliding window. */
export class LoginLimiter {
  private failures = new Map<string, number[]>();
  constructor(
    private readonly perName = 5,
    private readonly perAddress = 20,
    private readonly windowMs = 15 * 60 * 1000,
  ) {}

  private recent(key: string, now: number) {
    const list = (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs);
    this.failures.set(key, list);
    return list;
  }

  /** Seconds to wait, or 0 when a try is allowed. */
  wait(ip: string, name: string, now = Date.now()): number {
    const byName = this.recent(`${ip}|${name}`, now);
    const byIp = this.recent(ip, now);
    const full = byName.length >= this.perName ? byName : byIp.length >= this.perAddress ? byIp : null;
    return full ? Math.ceil((full[0] + this.windowMs - now) / 1000) : 0;
  }

  /** Counts a failed login. */
  fail(ip: string, name: string, now = Date.now()) {
    this.recent(`${ip}|${name}`, now).push(now);
    this.recent(ip, now).push(now);
  }

  /** A successful login clears the name's failures (not the address's). */
  succeed(ip: string, name: string) {
    this.failures.delete(`${ip}|${name}`);
  }
}
