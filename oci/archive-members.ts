import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { join, posix } from "node:path";
import type { Readable } from "node:stream";
import { Parser, type ReadEntry } from "tar";
import { TsbuildError } from "../errors.js";
import { Digester, type Digest } from "./digest.js";
import { digestOfBlobMember } from "./archive-format.js";

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
 * Copies every regular file of a tar (plain or compressed, as node-tar detects it) out of
 * `source` into `dir`, each under a numbered name so that nothing in the archive chooses a
 * path on disk. Each member is hashed while it streams; `blobs/sha256/<hex>` members are
 * checked against their names on the spot.
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
  const active = new Set<ReadEntry>();
  const pending: Promise<void>[] = [];
  let count = 0;
  let failure: unknown;
  let sawEnd = false;

  // Settles the wait for the parser; a failure settles it at once, as a parser waiting on
  // a destroyed entry would never end.
  let finish = (): void => undefined;
  const parsed = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const fail = (error: unknown): void => {
    if (failure !== undefined) return;
    failure = error;
    input.unpipe(parser);
    input.destroy();
    for (const entry of active) entry.destroy();
    finish();
  };

  const onEntry = (entry: ReadEntry): void => {
    if (failure !== undefined) {
      entry.resume();
      return;
    }
    // `tar -C dir -cf x.tar .` starts with a "./" member: the root itself, harmless.
    if (entry.type === "Directory" && entry.path.split("/").every((part) => part === "" || part === ".") && !entry.path.startsWith("/")) {
      entry.resume();
      return;
    }
    const name = normaliseMemberName(entry.path, { label });
    switch (entry.type) {
      case "File":
      case "OldFile":
      case "ContiguousFile": {
        if (files.has(name) || links.has(name)) throw invalid(label, `member "${name}" appears twice`);
        const member: ArchiveMember = { name, file: join(dir, String(count++)), size: 0, digest: "sha256:", head: Buffer.alloc(0) };
        files.set(name, member);
        // After a failure the entry is destroyed, yet node-tar may still write its last bytes to it.
        entry.on("error", () => undefined);
        active.add(entry);
        pending.push(
          copyMember(entry, { member, label })
            .catch((error: unknown) =>
              fail(
                error instanceof TsbuildError
                  ? error
                  : new TsbuildError("SYSTEM", `Cannot extract member "${name}" of image archive "${label}": ${(error as Error).message}`, { cause: error }),
              ),
            )
            .finally(() => active.delete(entry)),
        );
        return;
      }
      case "Directory":
        entry.resume();
        return;
      case "SymbolicLink":
      case "Link": {
        if (files.has(name) || links.has(name)) throw invalid(label, `member "${name}" appears twice`);
        const target = entry.linkpath ?? "";
        // A symlink's target is relative to the link's own directory; a hard link's to the root.
        const resolved = entry.type === "SymbolicLink" ? posix.join(posix.dirname(name), target) : target;
        if (target.startsWith("/")) throw invalid(label, `member "${name}" links to absolute path "${target}"`);
        links.set(name, normaliseMemberName(resolved, { label, why: `member "${name}" links outside the archive to "${target}"` }));
        entry.resume();
        return;
      }
      default:
        throw invalid(label, `member "${name}" is a ${entry.type}, not a regular file`);
    }
  };

  // noResume: entries are read through async iteration, which pulls only what is written out.
  const parser = new Parser({
    strict: true,
    noResume: true,
    onReadEntry: (entry) => {
      try {
        onEntry(entry);
      } catch (error) {
        entry.resume();
        fail(error);
      }
    },
  });

  const onAbort = (): void => fail(new TsbuildError("CANCELLED", `Reading image archive "${label}" was cancelled`));
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    parser.on("error", (error: Error & { entry?: ReadEntry }) => fail(tarError(error, label)));
    // A tar ends with zero blocks; without them the archive was cut short, perhaps between
    // members, where node-tar's own truncation check cannot see it.
    parser.on("nullBlock", () => {
      sawEnd = true;
    });
    parser.on("end", () => {
      if (!sawEnd) fail(invalid(label, "it is truncated: the end-of-archive blocks are missing"));
      finish();
    });
    input.on("error", (error: NodeJS.ErrnoException) =>
      fail(
        error.code === "ENOENT"
          ? new TsbuildError("FILE_NOT_FOUND", `Cannot read image archive "${label}": file not found`, { cause: error })
          : new TsbuildError("INVALID_ARCHIVE", `Cannot read image archive "${label}": ${error.message}`, { cause: error }),
      ),
    );
    if (failure === undefined) input.pipe(parser);
    await parsed;
    await Promise.allSettled(pending);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (failure !== undefined) throw failure;
  return membersOf({ files, links, label });
}

async function copyMember(entry: ReadEntry, { member, label }: { member: ArchiveMember; label: string }): Promise<void> {
  const digester = new Digester();
  // Blobs under blobs/sha256 name their own digest: check it here, where the member is known.
  const statedDigest = digestOfBlobMember(member.name);
  const head: Buffer[] = [];
  let headSize = 0;
  const handle = await open(member.file, "wx", 0o600);
  try {
    // The iterator of an entry destroyed (on failure) between two reads would wait forever,
    // so each read is preceded by a look at whether that happened.
    const stopped = (): boolean => entry.destroyed;
    if (stopped()) throw invalid(label, `reading member "${member.name}" was stopped`);
    for await (const chunk of entry as AsyncIterable<Buffer>) {
      digester.update(chunk);
      if (headSize < 8) {
        head.push(chunk.subarray(0, 8 - headSize));
        headSize += Math.min(chunk.length, 8 - headSize);
      }
      await handle.write(chunk);
      if (stopped()) throw invalid(label, `reading member "${member.name}" was stopped`);
    }
  } finally {
    await handle.close();
  }
  if (digester.size !== entry.size) {
    throw invalid(label, `member "${member.name}" is truncated (${digester.size} of ${entry.size} bytes)`);
  }
  member.size = digester.size;
  member.digest = digester.digest();
  member.head = Buffer.concat(head);
  if (statedDigest !== undefined && statedDigest !== member.digest) {
    throw new TsbuildError(
      "DIGEST_MISMATCH",
      `Image archive "${label}" is corrupt: member "${member.name}" has digest "${member.digest}"`,
    );
  }
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

function tarError(error: Error & { entry?: ReadEntry; tarCode?: string }, label: string): TsbuildError {
  // node-tar words its messages as "TAR_BAD_ARCHIVE: Truncated input (...)"; keep the words.
  const words = error.message.replace(/^TAR_[A-Z_]+: /, "");
  const where = error.entry?.path === undefined ? "" : ` at member "${error.entry.path}"`;
  return invalid(label, `it is not a well-formed tar: ${words.charAt(0).toLowerCase()}${words.slice(1)}${where}`, { cause: error });
}

function invalid(label: string, what: string, options: { cause?: unknown } = {}): TsbuildError {
  return new TsbuildError("INVALID_ARCHIVE", `Invalid image archive "${label}": ${what}`, options);
}
