import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { TsbuildError } from "../errors.js";
import { Digester, type Digest } from "./digest.js";
import { digestOfBlobMember } from "./archive-format.js";
import { LayerReader, type LayerEntry } from "./layer-reader.js";

/** One regular file of an archive, copied out to its own file. */
export interface ArchiveMember {
  /** The member's name in the archive, normalised (`./a//b` is `a/b`). */
  name: string;
  /** Where its bytes are on disk. */
  file: string;
  size: number;
  /** The sha256 of its bytes, computed while copying. */
  digest: Digest;
  /** Its first bytes (up to 8), enough to tell compressed content by its magic number. */
  head: Buffer;
}

/** The regular files of an extracted archive, by name, with links resolved. */
export interface ArchiveMembers {
  /** The member called `name` (after following in-archive links), or undefined. */
  get(name: string): ArchiveMember | undefined;
  /** The names of all regular file members, sorted. */
  names(): string[];
}

export interface ExtractArchiveMembersOptions {
  /** Names the archive in error messages; defaults to the path, or "stream". */
  label?: string;
  signal?: AbortSignal;
}

/** How many links may be followed for one name, so a loop of links is an error, not a hang. */
const MAX_LINK_HOPS = 16;

/**
 * Copies every regular file of a tar (plain, or compressed as docker load accepts) out of
 * `source` into `dir`, each under a numbered name so that nothing in the archive chooses a
 * path on disk. It reads with the layer reader, so image archives and layers share one tar
 * parser and its limits. Each member is hashed while it streams; `blobs/sha256/<hex>`
 * members are checked against their names on the spot.
 *
 * Symbolic and hard links are never created on disk: they are recorded as aliases, which
 * docker (`<id>/layer.tar -> ../<other>/layer.tar` for a repeated layer) and skopeo (legacy
 * `<id>/layer.tar` links to `<diffid>.tar`) both write. A member or link target that is
 * absolute or climbs out with `..`, a device or fifo, a repeated name, a corrupt or
 * truncated tar: all INVALID_ARCHIVE errors. The caller owns `dir` and removes it on error.
 *
 * @example
 * const members = await extractArchiveMembers("image.tar", dir);
 * const manifest = members.get("manifest.json");
 */
export async function extractArchiveMembers(
  source: string | Readable,
  dir: string,
  options: ExtractArchiveMembersOptions = {},
): Promise<ArchiveMembers> {
  const label = options.label ?? (typeof source === "string" ? source : "stream");
  const input = typeof source === "string" ? createReadStream(source) : source;
  const files = new Map<string, ArchiveMember>();
  const links = new Map<string, string>();
  const onAbort = (): void => {
    input.destroy(new TsbuildError("CANCELLED", `Reading image archive "${label}" was cancelled`));
  };
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const reader = new LayerReader(input, { compressions: "any" });
  try {
    for await (const entry of reader.entries()) {
      // `tar -C dir -cf x.tar .` starts with a "./" member: the root itself, harmless.
      if (entry.path === "" && entry.type === "directory") continue;
      const name = entry.path;
      if (entry.type === "directory") continue;
      if (files.has(name) || links.has(name)) throw invalid(label, `member "${name}" appears twice`);
      if (entry.type === "file") {
        const member: ArchiveMember = { name, file: join(dir, String(files.size)), size: 0, digest: "sha256:", head: Buffer.alloc(0) };
        files.set(name, member);
        await copyMember(entry, { member, label });
      } else if (entry.type === "symlink") {
        // A symlink's target is relative to the link's own directory.
        const target = entry.linkpath;
        if (target.startsWith("/")) throw invalid(label, `member "${name}" links to absolute path "${target}"`);
        const why = `member "${name}" links outside the archive to "${target}"`;
        links.set(name, normaliseMemberName(posix.join(posix.dirname(name), target), { label, why }));
      } else if (entry.type === "hardlink") {
        links.set(name, entry.linkpath); // relative to the root, and checked by the reader
      } else {
        throw invalid(label, `member "${name}" is a ${entry.type === "fifo" ? "FIFO" : `${entry.type} device`}, not a regular file`);
      }
    }
    // A tar ends with zero blocks; without them the archive was cut short between members.
    if (!reader.sawEndMarker) throw invalid(label, "it is truncated: the end-of-archive blocks are missing");
  } catch (error) {
    throw asArchiveError(error, { label, path: typeof source === "string" ? source : undefined });
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    input.destroy();
  }
  return membersOf({ files, links, label });
}

async function copyMember(entry: LayerEntry, { member, label }: { member: ArchiveMember; label: string }): Promise<void> {
  const digester = new Digester();
  // Blobs under blobs/sha256 name their own digest: check it here, where the member is known.
  const statedDigest = digestOfBlobMember(member.name);
  const head: Buffer[] = [];
  let headSize = 0;
  const handle = await open(member.file, "wx", 0o600);
  try {
    for await (const chunk of entry.body) {
      digester.update(chunk);
      if (headSize < 8) {
        head.push(chunk.subarray(0, 8 - headSize));
        headSize += Math.min(chunk.length, 8 - headSize);
      }
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  member.size = digester.size;
  member.digest = digester.digest();
  member.head = Buffer.from(Buffer.concat(head));
  if (statedDigest !== undefined && statedDigest !== member.digest) {
    throw new TsbuildError(
      "DIGEST_MISMATCH",
      `Image archive "${label}" is corrupt: member "${member.name}" has digest "${member.digest}"`,
    );
  }
}

/**
 * The reader's errors in the words of an image archive: its "entry" is our "member"; a file
 * that cannot be opened is FILE_NOT_FOUND or INVALID_ARCHIVE.
 */
function asArchiveError(error: unknown, { label, path }: { label: string; path: string | undefined }): unknown {
  if (error instanceof TsbuildError) {
    if (error.code !== "INVALID_ARCHIVE" || error.message.startsWith("Invalid image archive")) return error;
    const what = error.message.replace(/^Cannot (read|apply) layer: /, "").replace(/^entry "/, 'member "');
    return invalid(label, what.replace(/^not a tar archive$/, "it is not a well-formed tar"), { cause: error });
  }
  const errno = error as NodeJS.ErrnoException;
  if (path !== undefined && errno.code === "ENOENT") {
    return new TsbuildError("FILE_NOT_FOUND", `Cannot read image archive "${label}": file not found`, { cause: error });
  }
  if (typeof errno.code === "string") {
    return new TsbuildError("INVALID_ARCHIVE", `Cannot read image archive "${label}": ${errno.message}`, { cause: error });
  }
  return error;
}

function membersOf({ files, links, label }: { files: Map<string, ArchiveMember>; links: Map<string, string>; label: string }): ArchiveMembers {
  return {
    get(name) {
      let current = name;
      for (let hops = 0; hops <= MAX_LINK_HOPS; hops++) {
        const file = files.get(current);
        if (file !== undefined) return file;
        const next = links.get(current);
        if (next === undefined) return undefined;
        current = next;
      }
      throw invalid(label, `member "${name}" is a chain of more than ${MAX_LINK_HOPS} links`);
    },
    names() {
      return [...files.keys()].sort();
    },
  };
}

/**
 * `./a//b/` → `a/b`. Rejects what could point outside the archive: an absolute name, a `..`
 * component, a NUL byte, or a name with nothing left.
 */
function normaliseMemberName(raw: string, { label, why }: { label: string; why?: string }): string {
  const parts = raw.split("/").filter((part) => part !== "" && part !== ".");
  const unsafe = raw.startsWith("/") || raw.includes("\0") || parts.includes("..") || parts.length === 0;
  if (unsafe) throw invalid(label, why ?? `member "${raw}" has an unsafe path`);
  return parts.join("/");
}

function invalid(label: string, what: string, options: { cause?: unknown } = {}): TsbuildError {
  return new TsbuildError("INVALID_ARCHIVE", `Invalid image archive "${label}": ${what}`, options);
}
