import type { CopyAction, VertexDefinition } from "../../frontend/graph.js";
import { digestOf, type Digest } from "../../oci/digest.js";
import { canonicalJson, computeCacheKey } from "../cache-key.js";
import { checksumLines, collectCopySources, sourceLines, type DigestCache, type SourceEntry, type SourceMatch } from "../copy-sources.js";
import type { CacheMapContext } from "../operation.js";
import type { SharedViews } from "../shared-views.js";
import type { VertexResult } from "../types.js";

/** What a step reads of a context directory: the matches, a line per file, and their checksum. */
export interface ContextRead {
  matches: SourceMatch[];
  lines: string[];
  checksum: string;
}

/** What a step read of its context inputs for its key: checksums, file lines, and the matches (reused when it runs). */
export interface ContextReads {
  checksums: string[];
  files: string[][];
  collected: Map<number, SourceMatch[]>;
  /** The sha256 hex of each regular file read, as its line says (an incremental COPY compares them). */
  contents: Map<SourceEntry, string>;
}

/** Reads each of `reads` of its context input (solved now: a context is only a directory), in order. */
export async function readContexts(reads: readonly InputRead[], context: CacheMapContext, digests: DigestCache | undefined): Promise<ContextReads> {
  const result: ContextReads = { checksums: [], files: [], collected: new Map(), contents: new Map() };
  for (const { index, input, action } of reads) {
    const read = await readContextFiles((await context.input(input)) as VertexResult, action, digests);
    if (read === undefined) continue;
    result.collected.set(index, read.matches);
    // sourceLines gives a line per entry in order; a file's line ends with its digest.
    let line = 0;
    for (const entry of read.matches.flatMap((match) => match.entries)) {
      const text = read.lines[line++];
      if (entry.stat.isFile()) result.contents.set(entry, text.slice(text.lastIndexOf(" ") + 1));
    }
    result.files.push(read.lines);
    result.checksums.push(`${index}:${read.checksum}`);
  }
  return result;
}

/**
 * Reads what `action` selects of a context directory for a cache key: path, type, mode, link
 * target and content of every file (no times, no owners). A missing source fails here,
 * before anything runs.
 */
export async function readContextFiles(context: VertexResult, action: CopyAction, digests: DigestCache | undefined): Promise<ContextRead | undefined> {
  if (context.kind !== "directory") return undefined;
  const matches = await collectCopySources(context.path, action, { kind: "context", ignore: context.exclude });
  const lines = await sourceLines(matches, digests);
  return { matches, lines, checksum: checksumLines(lines) };
}

/** A bind mount's selector as a copy of one path, so it is checksummed as COPY sources are. */
export function selectorAction(selector: string): CopyAction {
  return {
    action: "copy",
    source: 0,
    src: selector,
    dest: "/",
    followSymlinks: true,
    dirContentsOnly: true,
    attemptUnpack: false,
    createDestPath: false,
    allowWildcard: false,
    allowEmptyWildcard: false,
    includePatterns: [],
    excludePatterns: [],
    requiredPaths: [],
    chown: undefined,
    chmod: undefined,
  };
}

/**
 * What `action` selects of another stage's committed snapshot (mounted at `root`), for a
 * content key: a line per file as for a context, plus its owner (a copy from a stage keeps
 * owners).
 */
export async function readSnapshotFiles(root: string, action: CopyAction): Promise<string> {
  const matches = await collectCopySources(root, action, { kind: "rootfs" });
  const lines = await sourceLines(matches);
  const owners = matches.flatMap((match) => match.entries.map((entry) => `${entry.stat.uid}:${entry.stat.gid}`));
  return checksumLines(lines.map((line, i) => `${line} ${owners[i]}`));
}

/**
 * What selections of other stages hold, by content, read once a build: a step's content
 * key may ask for it as soon as the stage is built (`Operation.inputSolved`), while the
 * step's other inputs (the steps before it in its own stage) are still being made.
 */
export class StageReads {
  readonly #views: SharedViews;
  readonly #reads = new Map<string, Promise<string>>();

  constructor(views: SharedViews) {
    this.#views = views;
  }

  /** `readSnapshotFiles` of committed snapshot `snapshot`. */
  read(snapshot: string, action: CopyAction): Promise<string> {
    const key = `${snapshot}\0${canonicalJson(action)}`;
    let read = this.#reads.get(key);
    if (read === undefined) {
      read = this.#views.view(snapshot).then((root) => readSnapshotFiles(root, action));
      // Whoever awaits it reports a failure; a read started ahead of time may have no one yet.
      read.catch(() => undefined);
      this.#reads.set(key, read);
    }
    return read;
  }

  /** Waits for every read (one started ahead may have no step waiting for it), before the views go. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#reads.values());
  }
}

/** One read of an input (a context, another stage): which input, what it selects, and the position it is keyed at. */
export interface InputRead {
  index: number;
  input: number;
  action: CopyAction;
}

/**
 * A step's content key: its first key's inputs and checksums, with each stage it reads
 * replaced by the content (and owners) of what it reads there. Digested apart from first
 * keys, so the two can never meet.
 */
export async function stageContentKey(
  definition: VertexDefinition,
  keyed: { inputs: readonly string[]; checksums: readonly string[] },
  reads: readonly InputRead[],
  options: { reads: StageReads; results: readonly VertexResult[] },
): Promise<Digest> {
  const inputs = [...keyed.inputs];
  const checksums = [...keyed.checksums];
  for (const { index, input, action } of reads) {
    const source = options.results[input];
    inputs[input] = "content";
    checksums.push(`${index}:from:${source.kind === "snapshot" ? await options.reads.read(source.key, action) : ""}`);
  }
  return digestOf(`content\n${computeCacheKey(definition, { inputs, checksums })}`);
}
