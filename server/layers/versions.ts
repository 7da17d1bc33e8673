// Each layer's data version (bumped by a trigger on every write, see migrations/…_layer_versions)
// kept in memory and refreshed by LISTEN/NOTIFY, so tile caches and ETags follow every edit
// without a query per request. On a lost connection it listens again and the map is reloaded in
// full, retried every second until both succeed.
// Each version is read with the primary's WAL position at that moment: a read replica that has
// replayed that position has the layer's data at that version (platform/replicas.ts), so a tile
// cached under a version is never rendered from a replica that lags behind it. The LISTEN
// connection is the primary's (the knex given), never a replica's or a pooler's.
import pg from 'pg';
import type { Knex } from 'knex';
import { log } from '../platform/log';
import { parseLsn } from '../platform/replicas';

type VersionRow = { layer_id: string; version: string; lsn: string };
/** The pause before each attempt to listen again. */
const RECONNECT_MS = 1000;

export class LayerVersions {
  private versions = new Map<string, number>();
  /** The primary's WAL position when each layer's version was read. */
  private positions = new Map<string, bigint>();
  private listener?: pg.Client;
  private closed = false;
  private reconnecting = false;
  private listeners = new Set<(layerId: string) => void>();

  constructor(private readonly knex: Knex) {}

  /** Loads the versions and starts listening for changes. */
  async start(): Promise<void> {
    await this.reload();
    await this.listen();
  }

  /** The current data version of a layer (0 when the layer has no row yet). */
  get(layerId: string): number {
    return this.versions.get(layerId) ?? 0;
  }

  /** The WAL position a read of these layers must reach to show them at their current versions. */
  position(layerIds: Iterable<string>): bigint {
    let max = 0n;
    for (const id of layerIds) {
      const p = this.positions.get(id) ?? 0n;
      if (p > max) max = p;
    }
    return max;
  }

  /** Calls fn with the layer id whenever a layer's data changes. */
  onChange(fn: (layerId: string) => void): void {
    this.listeners.add(fn);
  }

  /** Re-reads every version (also used after a write when a caller needs it at once). */
  async reload(): Promise<void> {
    const { rows } = await this.knex.raw<{ rows: VersionRow[] }>('SELECT layer_id, version, pg_current_wal_lsn()::text AS lsn FROM layer_versions');
    for (const r of rows) this.set(r);
  }

  private set(r: VersionRow) {
    const layerId = r.layer_id;
    const version = Number(r.version);
    if (this.versions.get(layerId) === version) return;
    // The position first: a reader that sees the new version sees its position too.
    this.positions.set(layerId, parseLsn(r.lsn) ?? 0n);
    this.versions.set(layerId, version);
    for (const fn of this.listeners) fn(layerId);
  }

  private async listen() {
    const settings = this.knex.client.config.connection as pg.ClientConfig;
    const client = new pg.Client(settings);
    client.on('error', (err) => log.warn({ err }, 'layer versions: listener connection lost'));
    // Only the connection in use reconnects (not one of a failed attempt).
    client.on('end', () => {
      if (client === this.listener) this.reconnect();
    });
    client.on('notification', (msg) => {
      if (msg.channel !== 'onemap_layer_changed' || !msg.payload) return;
      void this.knex
        .raw<{ rows: VersionRow[] }>('SELECT layer_id, version, pg_current_wal_lsn()::text AS lsn FROM layer_versions WHERE layer_id = ?', [msg.payload])
        .then(({ rows }) => rows[0] && this.set(rows[0]))
        .catch((err) => log.error({ err }, 'layer versions: refresh failed'));
    });
    try {
      await client.connect();
      await client.query('LISTEN onemap_layer_changed');
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    this.listener = client;
  }

  /**
   * Listens again and reloads every version (what changed while disconnected), once a second until
   * both succeed: PostgreSQL may be down for a while, or go down again between the two.
   */
  private reconnect() {
    if (this.closed || this.reconnecting) return;
    this.reconnecting = true;
    this.listener = undefined;
    void (async () => {
      for (let attempt = 1; !this.closed; attempt++) {
        await new Promise((r) => setTimeout(r, RECONNECT_MS));
        if (this.closed) break;
        try {
          await this.listen();
          await this.reload();
          if (attempt > 1) log.info({ attempts: attempt }, 'layer versions: listening again');
          break;
        } catch (err) {
          log.warn({ attempt, cause: String((err as Error)?.message ?? err) }, 'layer versions: reconnect failed; trying again');
          const failed = this.listener;
          this.listener = undefined;
          await failed?.end().catch(() => undefined);
        }
      }
      this.reconnecting = false;
    })();
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.listener?.end().catch(() => undefined);
  }
}
