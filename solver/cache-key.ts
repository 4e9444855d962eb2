import { digestOf, type Digest } from "../oci/digest.js";
import type { VertexDefinition } from "../frontend/graph.js";

export interface CacheKeyInputs {
  /** The cache keys of the vertex's inputs, in the definition's order. */
  inputs: readonly string[];
  /** Checksums of the files the vertex reads from a context (COPY sources, bind mounts), in action order. */
  checksums?: readonly string[];
}

/** Bumped when what a key stands for changes, so old cache records stop matching. */
const KEY_VERSION = "tsbuild.cache.v1";

/**
 * A vertex's cache key: the digest of its definition, its inputs' keys and the checksums of
 * the context files it reads. Keys are digested as canonical JSON (sorted object keys), so
 * a field order change in the frontend does not invalidate the cache.
 */
export function computeCacheKey(definition: VertexDefinition, inputs: CacheKeyInputs): Digest {
  // A git source's --checksum only checks the commit it resolves to: as in BuildKit, adding
  // one keeps the cache (the files are keyed by content where they are copied).
  const keyed = definition.op === "source" && definition.kind === "git" ? { ...definition, checksum: undefined } : definition;
  return digestOf(canonicalJson({ version: KEY_VERSION, definition: keyed, inputs: inputs.inputs, checksums: inputs.checksums ?? [] }));
}

/** JSON with object keys sorted and `undefined` fields dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((item) => (item === undefined ? "null" : canonicalJson(item))).join(",")}]`;
  const fields = Object.keys(value as Record<string, unknown>)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${fields.join(",")}}`;
}
