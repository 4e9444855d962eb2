import type { CopyAction } from "../../frontend/graph.js";
import { checksumLines, collectCopySources, sourceLines, type DigestCache, type SourceMatch } from "../copy-sources.js";
import type { VertexResult } from "../types.js";

/** What a step reads of a context directory: the matches, a line per file, and their checksum. */
export interface ContextRead {
  matches: SourceMatch[];
  lines: string[];
  checksum: string;
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
