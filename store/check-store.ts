import { isTsbuildError } from "../errors.js";
import type { Digest } from "../oci/digest.js";
import type { StoreParts } from "./garbage-collector.js";
import { isRefLive, type UnreadableRef } from "./ref-store.js";

/** What `fsck` found. `ok` is true when every list is empty. */
export interface FsckReport {
  ok: boolean;
  blobs: {
    checked: number;
    /** Blobs whose content no longer hashes to their name. */
    corrupt: Array<{ digest: Digest; actual: Digest; size: number }>;
  };
  images: {
    checked: number;
    /** index.json entries whose manifest, config or layers are missing or unreadable. */
    broken: Array<{ name?: string; digest: Digest; missing: Digest[]; reason: string }>;
  };
  refs: {
    checked: number;
    /** Live ref records that point at missing blobs. */
    broken: Array<{ kind: string; id: string; missing: Digest[] }>;
    unreadable: UnreadableRef[];
  };
}

export interface FsckOptions {
  /** Skip re-hashing blobs (fast: only check that references resolve). */
  skipBlobContent?: boolean;
}

/** Verifies every blob's digest and every record's references; reports, repairs nothing. */
export async function checkStore(parts: StoreParts, options: FsckOptions = {}): Promise<FsckReport> {
  const report: FsckReport = {
    ok: true,
    blobs: { checked: 0, corrupt: [] },
    images: { checked: 0, broken: [] },
    refs: { checked: 0, broken: [], unreadable: [] },
  };
  for await (const blob of parts.content.walk()) {
    report.blobs.checked++;
    if (options.skipBlobContent) continue;
    // A concurrent gc may delete a blob between the walk and the read: that is not damage.
    const result = await parts.content.verify(blob.digest).catch((error: unknown) => {
      if (isTsbuildError(error, "NOT_FOUND")) return undefined;
      throw error;
    });
    if (result !== undefined && !result.ok) report.blobs.corrupt.push({ digest: blob.digest, actual: result.actual, size: result.size });
  }

  for (const record of await parts.images.records()) {
    report.images.checked++;
    const graph = await parts.walker.walk([{ digest: record.digest, mediaType: record.mediaType }]);
    const broken = { digest: record.digest, missing: [...graph.missing].sort(), reason: "" };
    if (broken.missing.includes(record.digest)) broken.reason = "manifest is missing";
    else if ((await parts.walker.parse(record.digest)) === null) broken.reason = "manifest cannot be parsed";
    else if (broken.missing.length > 0) broken.reason = `${broken.missing.length} referenced blob(s) missing`;
    if (broken.reason !== "") report.images.broken.push(record.name === undefined ? broken : { name: record.name, ...broken });
  }

  const scan = await parts.refs.scan();
  report.refs.unreadable = scan.unreadable;
  for (const ref of scan.records) {
    report.refs.checked++;
    if (!isRefLive(ref)) continue;
    const graph = await parts.walker.walk(ref.blobs.map((digest) => ({ digest })));
    if (graph.missing.size > 0) report.refs.broken.push({ kind: ref.kind, id: ref.id, missing: [...graph.missing].sort() });
  }

  report.ok =
    report.blobs.corrupt.length === 0 &&
    report.images.broken.length === 0 &&
    report.refs.broken.length === 0 &&
    report.refs.unreadable.length === 0;
  return report;
}
