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

/** The first line of a record's blob; a blob of any other format is not read (one re-read of the context). */
const HEADER = "tsbuild context digests v2";

/**
 * The digests of a context's files from the last build, by path, trusted while size, mtime,
 * ctime and inode are unchanged: an unchanged 20,000-file context is stat'ed, not re-read.
 * ctime is included because it changes on every write, even one that restores the mtime.
 * Only the files a build read are saved, so deleted files drop out.
 *
 * Kept as a text blob held by a ref record, a line a file: `<path>\t<size>\t<mtime>\t<ctime>\t<ino>\t<sha256 hex>`,
 * paths relative to the context (absolute for files of other contexts), a path holding a tab, a
 * newline or a leading `"` written as a JSON string. Loading it is one pass of string slices
 * (a 20,000-file context loads in a few milliseconds, a JSON object of absolute paths took
 * ~30), and a lookup compares the stat facts as the text they were saved as: no parsing, and
 * nothing allocated for a file that is unchanged.
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
    const known = new Map<string, string>();
    try {
      const record = await store.refs.get(CONTEXT_DIGESTS_REF_KIND, idOf(context));
      const blob = record?.blobs[0];
      if (blob !== undefined && isDigest(blob)) parseInto(known, (await store.content.read(blob)).toString("utf8"));
    } catch {
      // A missing or broken record only costs a re-read.
      known.clear();
    }
    return new ContextDigests(context, known);
  }

  lookup(path: string, stat: Stats): string | undefined {
    const key = this.#keyOf(path);
    const known = this.#known.get(key);
    if (known === undefined) return undefined;
    const facts = factsOf(stat);
    if (!known.startsWith(facts)) return undefined;
    // Unchanged since it was remembered (and it was not racy then): remembered again as is.
    this.#seen.set(key, known);
    return known.slice(facts.length);
  }

  remember(path: string, stat: Stats, digest: string): void {
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
    const lines: string[] = [];
    for (const [key, value] of this.#seen) lines.push(`${needsQuoting(key) ? JSON.stringify(key) : key}\t${value}`);
    // Sorted, so the same files make the same blob.
    const blob = await store.content.write(Buffer.from(`${HEADER}\n${lines.sort().join("\n")}\n`));
    await store.refs.put(CONTEXT_DIGESTS_REF_KIND, idOf(context), { blobs: [blob.digest] });
  }

  /** Paths in the context are kept relative to it: a third of the bytes to load and hash. */
  #keyOf(path: string): string {
    return path.startsWith(this.#prefix) ? path.slice(this.#prefix.length) : path;
  }
}

/** The facts a remembered digest is trusted by, as saved: `<size>\t<mtime>\t<ctime>\t<ino>\t`. */
function factsOf(stat: Stats): string {
  return `${stat.size}\t${stat.mtimeMs}\t${stat.ctimeMs}\t${stat.ino}\t`;
}

function needsQuoting(key: string): boolean {
  return key.startsWith('"') || key.includes("\t") || key.includes("\n");
}

/** Reads a blob `save` wrote; one of another format leaves `known` empty. */
function parseInto(known: Map<string, string>, text: string): void {
  if (!text.startsWith(`${HEADER}\n`)) return;
  for (let start = HEADER.length + 1; start < text.length; ) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const tab = text.charCodeAt(start) === 0x22 ? text.indexOf("\t", quotedEnd(text, start)) : text.indexOf("\t", start);
    if (tab === -1 || tab > end) throw new Error("malformed context digests record");
    const key = text.slice(start, tab);
    known.set(key.startsWith('"') ? (JSON.parse(key) as string) : key, text.slice(tab + 1, end));
    start = end + 1;
  }
}

/** The index just past the JSON string that starts at `start`. */
function quotedEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  throw new Error("malformed context digests record");
}

function idOf(context: string): string {
  return digestOf(context).replace("sha256:", "sha256-");
}
