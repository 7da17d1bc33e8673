// Each layer's data version (bumped by a trigger on every write, see migrations/…_layer_versions)
// kept in memory and refreshed by LISTEN/NOTIFY, so tile caches and ETags follow every edit
// without a query per request. On a lost connection the map is reloaded in full.
import pg from 'pg';
import type { Knex } from 'knex';
import { log } from '../platform/log';

export class LayerVersions {
  private versions = new Map<string, number>();
  private listener?: pg.Client;
  private closed = false;
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

  /** Calls fn with the layer id whenever a layer's data changes. */
  onChange(fn: (layerId: string) => void): void {
    this.listeners.add(fn);
  }

  /** Re-reads every version (also used after a write when a caller needs it at once). */
  async reload(): Promise<void> {
    const rows = await this.knex('layer_versions').select<{ layer_id: string; version: string }[]>('layer_id', 'version');
    for (const r of rows) this.set(r.layer_id, Number(r.version));
  }

  private set(layerId: string, version: number) {
    if (this.versions.get(layerId) === version) return;
    this.versions.set(layerId, version);
    for (const fn of this.listeners) fn(layerId);
  }

  private async listen() {
    const settings = this.knex.client.config.connection as pg.ClientConfig;
    const client = new pg.Client(settings);
    client.on('error', (err) => log.warn({ err }, 'layer versions: listener connection lost'));
    client.on('end', () => {
      if (this.closed) return;
      // Reconnect and reload: changes made while disconnected are picked up by the reload.
      setTimeout(() => void this.listen().then(() => this.reload()).catch((err) => log.error({ err }, 'layer versions: reconnect failed')), 1000);
    });
    client.on('notification', (msg) => {
      if (msg.channel !== 'onemap_layer_changed' || !msg.payload) return;
      void this.knex('layer_versions')
        .where('layer_id', msg.payload)
        .first<{ version: string } | undefined>('version')
        .then((r) => r && this.set(msg.payload!, Number(r.version)))
        .catch((err) => log.error({ err }, 'layer versions: refresh failed'));
    });
    await client.connect();
    await client.query('LISTEN onemap_layer_changed');
    this.listener = client;
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.listener?.end().catch(() => undefined);
  }
}
