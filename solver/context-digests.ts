import { digestOf, isDigest } from "../oci/digest.js";
import type { Store } from "../store/store.js";
import type { DigestCache, SourceStat } from "./copy-sources.js";
import { decodePathRecords, encodePathRecords } from "./path-records.js";

/** The ref kind of remembered context file digests, one record per context directory. */
export const CONTEXT_DIGESTS_REF_KIND = "context-digests";

/**
 * How old a file's mtime must be for its digest to be remembered. File times come from a
 * coarse clock (a scheduler tick here, whole seconds or two on some filesystems).
 */
const RACY_WINDOW_MS = 2000;

/** The first line of a record's blob; a blob of any other format is not read (one re-read of the context). */
const HEADER = "tsbuild context digests v2";

/**
 * The digests of a context's files from the last build, by path, trusted while size, mtime,
 * ctime and inode are unchanged: an unchanged 20,000-file context is stat'ed, not re-read.
 * ctime is included because it changes on every write, even one that restores the mtime.
 * Only the files a build read are saved, so deleted files drop out.
 *
 * Kept as a blob of path records (path-records.ts) held by a ref record, a line a file:
 * `<path>\t<size>\t<mtime>\t<ctime>\t<ino>\t<sha256 hex>`, paths relative to the context
 * (absolute for files of other contexts). A lookup compares the stat facts as the text they
 * were saved as: no parsing, and nothing allocated for a file that is unchanged.
 */
export class ContextDigests implements DigestCache {
  /** Path key → `<size>\t<mtime>\t<ctime>\t<ino>\t<digest>` as remembered. */
  readonly #known: Map<string, string>;
  /** What this build read: the next build's record. */
  readonly #seen = new Map<string, string>();
  readonly #prefix: string;
  /** Files changed after this are not remembered (see RACY_WINDOW_MS); set at load, so it only errs towards hashing again. */
  readonly #racyAfter = Date.now() - RACY_WINDOW_MS;
  #changed = false;

  private constructor(context: string, known: Map<string, string>) {
    this.#prefix = context.endsWith("/") ? context : `${context}/`;
    this.#known = known;
  }

  /** The remembered digests of `context`; none when there is no record or it cannot be read. */
  static async load(store: Store, context: string): Promise<ContextDigests> {
    let known: Map<string, string> | undefined;
    try {
      const record = await store.refs.get(CONTEXT_DIGESTS_REF_KIND, idOf(context));
      const blob = record?.blobs[0];
      if (blob !== undefined && isDigest(blob)) known = decodePathRecords(HEADER, await store.content.read(blob));
    } catch {
      // A missing or unreadable record only costs a re-read.
      known = undefined;
    }
    return new ContextDigests(context, known ?? new Map());
  }

  lookup(path: string, stat: SourceStat): string | undefined {
    const key = this.#keyOf(path);
    const known = this.#known.get(key);
    if (known === undefined) return undefined;
    const facts = factsOf(stat);
    if (!known.startsWith(facts)) return undefined;
    // Unchanged since it was remembered (and it was not racy then): remembered again as is.
    this.#seen.set(key, known);
    return known.slice(facts.length);
  }

  remember(path: string, stat: SourceStat, digest: string): void {
    // A file written within the file clock's resolution of now could be written again with
    // the same size and the same mtime (git's "racy" entries): hash it again next time.
    if (stat.mtimeMs >= this.#racyAfter) return;
    const key = this.#keyOf(path);
    const value = factsOf(stat) + digest;
    if (this.#known.get(key) !== value) this.#changed = true;
    this.#seen.set(key, value);
  }

  /** Writes what this build read, when it differs from what was remembered. */
  async save(store: Store, context: string): Promise<void> {
    if (!this.#changed && this.#seen.size === this.#known.size) return;
    if (this.#seen.size === 0) return;
    const blob = await store.content.write(encodePathRecords(HEADER, this.#seen));
    await store.refs.put(CONTEXT_DIGESTS_REF_KIND, idOf(context), { blobs: [blob.digest] });
  }

  /** Paths in the context are kept relative to it: a third of the bytes to load and hash. */
  #keyOf(path: string): string {
    return path.startsWith(this.#prefix) ? path.slice(this.#prefix.length) : path;
  }
}

/** The facts a remembered digest is trusted by, as saved: `<size>\t<mtime>\t<ctime>\t<ino>\t`. */
function factsOf(stat: SourceStat): string {
  return `${stat.size}\t${stat.mtimeMs}\t${stat.ctimeMs}\t${stat.ino}\t`;
}

function idOf(context: string): string {
  return digestOf(context).replace("sha256:", "sha256-");
}
