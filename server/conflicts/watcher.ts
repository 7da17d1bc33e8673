// Incremental runs on their own: when a layer some rule reads gets new content (an import, a
// restore, an edit — from this instance, another one or a CLI), the rules that involve it are
// re-run for what changed. Changes arriving while a run is busy are caught by one more run after
// it; runs of several instances are serialised by the engine's lock and the later one finds
// nothing left to do. Nothing runs before the first full run (that one is an explicit action).
import type { LayerVersions } from '../layers/versions';
import { log } from '../platform/log';
import type { ConflictEngine } from './detect';

export class ConflictWatcher {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private readonly tracked: Set<string>;
  private readonly pendingLayers = new Set<string>();

  constructor(
    private readonly engine: ConflictEngine,
    versions: LayerVersions,
    private readonly delayMs = 200,
  ) {
    this.tracked = new Set([...engine.rules.layers.map((l) => l.id), 'districts']);
    versions.onChange((layerId) => {
      if (!this.tracked.has(layerId)) return;
      this.pendingLayers.add(layerId);
      this.schedule();
    });
  }

  /** True while an automatic run is in progress. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  private schedule() {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.catchUp(), this.delayMs);
  }

  /** One incremental run now (also what tests and the import path await). */
  catchUp(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const layers = [...this.pendingLayers];
    this.pendingLayers.clear();
    this.running = (async () => {
      try {
        if (await this.engine.hasBase()) await this.engine.run({ mode: 'incremental', requestedBy: 'system', trigger: { via: 'layer change', layers } });
      } catch (err) {
        log.error({ err }, 'conflicts: automatic run failed');
      } finally {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.schedule();
        }
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
