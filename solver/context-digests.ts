import type { Stats } from "node:fs";
import { digestOf, isDigest } from "../oci/digest.js";
import type { Store } from "../store/store.js";
import type { DigestCache } from "./copy-sources.js";

/** The ref kind of remembered context file digests, one record per context directory. */
export const CONTEXT_DIGESTS_REF_KIND = "context-digests";

/**
 * How old a file's mtime must be for its digest to be remembered. File times come from a
 * coarse clock (a scheduler tick here, whole seconds or two on some filesystems).
 */
const RACY_WINDOW_MS = 2000;

/** size, mtime (ms), ctime (ms), inode, sha256 hex. */
type Remembered = [number, number, number, number, string];

/**
 * The digests of a context's files from the last build, by path, trusted while size, mtime,
 * ctime and inode are unchanged: an unchanged 20,000-file context is stat'ed, not re-read.
 * ctime is included because it changes on every write, even one that restores the mtime.
 * Kept as a JSON blob held by a ref record; only the files a build read are saved, so
 * deleted files drop out.
 */
export class ContextDigests implements DigestCache {
  readonly #known: Map<string, Remembered>;
  readonly #seen = new Map<string, Remembered>();
  #changed = false;

  private constructor(known: Map<string, Remembered>) {
    this.#known = known;
  }

  /** The remembered digests of `context`; none when there is no record or it cannot be read. */
  static async load(store: Store, context: string): Promise<ContextDigests> {
    const known = new Map<string, Remembered>();
    try {
      const record = await store.refs.get(CONTEXT_DIGESTS_REF_KIND, idOf(context));
      const blob = record?.blobs[0];
      if (blob !== undefined && isDigest(blob)) {
        const parsed = JSON.parse((await store.content.read(blob)).toString("utf8")) as { files?: Record<string, Remembered> };
        for (const [path, value] of Object.entries(parsed.files ?? {})) known.set(path, value);
      }
    } catch {
      // A missing or broken record only costs a re-read.
    }
    return new ContextDigests(known);
  }

  lookup(path: string, stat: Stats): string | undefined {
    const known = this.#known.get(path);
    if (known === undefined) return undefined;
    const [size, mtime, ctime, ino, digest] = known;
    return size === stat.size && mtime === stat.mtimeMs && ctime === stat.ctimeMs && ino === stat.ino ? digest : undefined;
  }

  remember(path: string, stat: Stats, digest: string): void {
    // A file written within the file clock's resolution of now could be written again with
    // the same size and the same mtime (git's "racy" entries): hash it again next time.
    if (stat.mtimeMs >= Date.now() - RACY_WINDOW_MS) return;
    const value: Remembered = [stat.size, stat.mtimeMs, stat.ctimeMs, stat.ino, digest];
    const known = this.#known.get(path);
    if (known === undefined || known.some((field, i) => field !== value[i])) this.#changed = true;
    this.#seen.set(path, value);
  }

  /** Writes what this build read, when it differs from what was remembered. */
  async save(store: Store, context: string): Promise<void> {
    if (!this.#changed && this.#seen.size === this.#known.size) return;
    if (this.#seen.size === 0) return;
    const files = Object.fromEntries([...this.#seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const blob = await store.content.write(Buffer.from(JSON.stringify({ context, files })));
    await store.refs.put(CONTEXT_DIGESTS_REF_KIND, idOf(context), { blobs: [blob.digest] });
  }
}

function idOf(context: string): string {
  return digestOf(context).replace("sha256:", "sha256-");
}
