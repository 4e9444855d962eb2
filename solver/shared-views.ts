import { TsbuildError } from "../errors.js";
import type { Snapshotter } from "../snapshotter/types.js";
import { SnapshotMounts } from "./snapshot-mounts.js";

/**
 * Read-only views of committed snapshots that one build's steps read (the stages a COPY
 * --from copies out of, whose files its content key digests first): each mounted once, on
 * first use, and kept until the build's steps are done. A COPY --from used to mount its
 * stage twice (for the key, then for the copy), a mount and an unmount each on its path.
 * Committed snapshots never change, so every reader may share one view.
 */
export class SharedViews {
  readonly #mounts: SnapshotMounts;
  readonly #views = new Map<string, Promise<string>>();
  #released = false;

  constructor(snapshotter: Snapshotter, tempDir: string) {
    this.#mounts = new SnapshotMounts(snapshotter, tempDir);
  }

  /** The mounted root of committed snapshot `snapshot`. */
  view(snapshot: string): Promise<string> {
    if (this.#released) return Promise.reject(new TsbuildError("CANCELLED", `Cannot mount snapshot "${snapshot}": the build's steps are over`));
    let view = this.#views.get(snapshot);
    if (view === undefined) {
      view = this.#mounts.view(snapshot);
      this.#views.set(snapshot, view);
      // A view that failed to mount is tried again by the next reader.
      view.catch(() => this.#views.delete(snapshot));
    }
    return view;
  }

  /** Unmounts every view (after those being mounted are), once no step reads them any more. */
  async release(): Promise<void> {
    this.#released = true;
    await Promise.allSettled(this.#views.values());
    this.#views.clear();
    await this.#mounts.release();
  }
}
