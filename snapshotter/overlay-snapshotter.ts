import { mkdirSync } from "node:fs";
import { mkdir, mkdtemp, rmdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import type { LayerWriteEntry } from "../oci/layer-writer.js";
import { applyLayer } from "./apply-layer.js";
import { BaseSnapshotter, type SnapshotChain } from "./base-snapshotter.js";
import { overlayChanges } from "./layer-changes.js";
import { startSystemHelper } from "../util/system-helper.js";
import { performMount, performUnmount } from "./mount-table.js";
import { warmCommandServer } from "../util/command-server.js";
import { canMountReadOnlyOverlay, escapeOverlayPath, overlayOptions } from "./overlay-options.js";
import type { Mount, PrepareOptions } from "./types.js";

/**
 * Snapshots as overlayfs layers: every snapshot owns `<root>/snapshots/<n>/fs` (its upper
 * directory, later a lower one) and `work`. Commit only changes metadata; an active
 * snapshot is its parents' `fs` directories as lowers plus its own as upper.
 */
export class OverlaySnapshotter extends BaseSnapshotter {
  readonly name: "overlayfs" | "fuse-overlayfs" = "overlayfs";

  override async prepare(key: string, parent?: string, options?: PrepareOptions): Promise<Mount[]> {
    this.warmMounting();
    return super.prepare(key, parent, options);
  }

  override async view(key: string, parent: string, options?: PrepareOptions): Promise<Mount[]> {
    this.warmMounting();
    return super.view(key, parent, options);
  }

  /**
   * A mount follows a prepare or a view: what performs it (the system helper, else the shell
   * that runs mount(8)) starts while the snapshot is recorded.
   */
  protected warmMounting(): void {
    if (!startSystemHelper()) warmCommandServer();
  }

  protected async createDirectories(id: number, kind: "active" | "view"): Promise<void> {
    if (kind === "active") {
      // Synchronous, as the records (snapshot-metadata.ts): two quick calls on a step's path.
      mkdirSync(this.fsOf(id), { mode: 0o755 });
      mkdirSync(join(this.dirOf(id), "work"), { mode: 0o700 });
    }
  }

  async changesDirectory(key: string): Promise<string> {
    return this.fsOf((await this.metadata.get(key)).id);
  }

  protected mountsOf(chain: SnapshotChain): Mount[] {
    return [this.#mount(chain, (id) => this.fsOf(id), (id) => join(this.dirOf(id), "work"), false)];
  }

  protected async mountChain(chain: SnapshotChain, target: string): Promise<void> {
    // Relative layer paths from the snapshots directory keep the options short (see overlay-options.ts).
    const mount = this.#mount(chain, (id) => `${id}/fs`, (id) => `${id}/work`, true);
    await this.performOverlayMount(mount, target, { cwd: this.snapshotsDir, scratch: this.dirOf(chain.record.id) });
  }

  /**
   * Mounts an overlay (or the bind of a single layer); `scratch` is a directory of the
   * snapshot being mounted, for an implementation that needs one (fuse-overlay-snapshotter.ts).
   */
  protected async performOverlayMount(mount: Mount, target: string, options: { cwd: string; scratch: string }): Promise<void> {
    await performMount(mount, target, { cwd: options.cwd });
  }

  #mount(chain: SnapshotChain, fs: (id: number) => string, work: (id: number) => string, check: boolean): Mount {
    const lowers = chain.ancestors.map((a) => a.record.id);
    const { record } = chain;
    if (record.kind === "active") {
      if (lowers.length === 0) return { type: "bind", source: this.fsOf(record.id), options: ["bind", "rw"] };
      const options = overlayOptions(
        { lowers: lowers.map((id) => escapeOverlayPath(fs(id))), upper: fs(record.id), work: work(record.id) },
        check,
      );
      return { type: "overlay", source: "overlay", options };
    }
    // A view of a single layer is that layer's directory, read-only.
    if (!canMountReadOnlyOverlay(lowers.length)) return { type: "bind", source: this.fsOf(lowers[0]), options: ["bind", "ro"] };
    return { type: "overlay", source: "overlay", options: overlayOptions({ lowers: lowers.map((id) => escapeOverlayPath(fs(id))) }, check) };
  }

  protected changesOf(chain: SnapshotChain): AsyncIterable<LayerWriteEntry> {
    return overlayChanges(this.fsOf(chain.record.id));
  }

  protected async applyInto(id: number, ancestors: SnapshotChain["ancestors"], layer: Readable) {
    await mkdir(this.fsOf(id), { mode: 0o755 });
    await mkdir(join(this.dirOf(id), "work"), { mode: 0o700 });
    const lowers = ancestors.map((a) => a.record.id);
    if (lowers.length < 2) {
      const lowerView = lowers.length === 1 ? this.fsOf(lowers[0]) : undefined;
      return applyLayer(layer, this.fsOf(id), { mode: "overlay", lowerView });
    }
    // Lookups below the new layer (symlinks, what a whiteout hides) need the merged lowers.
    const lowerView = await mkdtemp(join(this.dirOf(id), "lower-"));
    const options = overlayOptions({ lowers: lowers.map((n) => `${n}/fs`) });
    await this.performOverlayMount({ type: "overlay", source: "overlay", options }, lowerView, { cwd: this.snapshotsDir, scratch: this.dirOf(id) });
    try {
      return await applyLayer(layer, this.fsOf(id), { mode: "overlay", lowerView });
    } finally {
      await performUnmount(lowerView);
      await rmdir(lowerView);
    }
  }
}
