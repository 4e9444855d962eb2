import { mkdir } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { LayerWriteEntry } from "../oci/layer-writer.js";
import { applyLayer } from "./apply-layer.js";
import { BaseSnapshotter, type SnapshotChain } from "./base-snapshotter.js";
import { nativeChanges } from "./layer-changes.js";
import { performMount } from "./mount-table.js";
import { runCommand } from "./run-command.js";
import type { Mount } from "./types.js";

/**
 * Snapshots as full copies, for hosts where overlayfs cannot be mounted: an active snapshot
 * starts as `cp -a` of its parent (keeping owners, modes, times, hard links and xattrs),
 * a view is a read-only bind mount of the committed parent, and a diff compares the tree
 * with its parent's.
 */
export class NativeSnapshotter extends BaseSnapshotter {
  readonly name = "native" as const;

  protected async createDirectories(id: number, kind: "active" | "view", ancestors: SnapshotChain["ancestors"]): Promise<void> {
    if (kind === "view") return;
    await this.#copyParent(id, ancestors);
  }

  async #copyParent(id: number, ancestors: SnapshotChain["ancestors"]): Promise<void> {
    if (ancestors.length === 0) await mkdir(this.fsOf(id), { mode: 0o755 });
    else await runCommand("cp", ["-a", "--reflink=auto", "--", this.fsOf(ancestors[0].record.id), this.fsOf(id)]);
  }

  protected mountsOf(chain: SnapshotChain): Mount[] {
    if (chain.record.kind === "view") return [{ type: "bind", source: this.fsOf(chain.ancestors[0].record.id), options: ["bind", "ro"] }];
    return [{ type: "bind", source: this.fsOf(chain.record.id), options: ["bind", "rw"] }];
  }

  protected async mountChain(chain: SnapshotChain, target: string): Promise<void> {
    await performMount(this.mountsOf(chain)[0], target);
  }

  protected changesOf(chain: SnapshotChain): AsyncIterable<LayerWriteEntry> {
    const parent = chain.ancestors[0];
    return nativeChanges(this.fsOf(chain.record.id), parent === undefined ? undefined : this.fsOf(parent.record.id));
  }

  protected async applyInto(id: number, ancestors: SnapshotChain["ancestors"], layer: Readable) {
    await this.#copyParent(id, ancestors);
    return applyLayer(layer, this.fsOf(id), { mode: "native" });
  }
}
