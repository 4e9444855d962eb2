import { randomBytes } from "node:crypto";
import { linkSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { dirname, join, basename } from "node:path";
import { crashPoint } from "../util/crash-point.js";
import { currentProcess, formatProcessToken, parseProcessToken, type ProcessIdentity } from "./process-identity.js";

/**
 * Writes `data` to `path` so that a reader sees either the old file or the whole new one:
 * write a temporary sibling, fsync it, rename it over the target, fsync the directory.
 * With `durable: false` the fsyncs are left out: still whole against a killed process,
 * for records that need not outlive a power loss.
 * A process killed half way leaves at most a `.tmp-*` sibling, which readers ignore; its name
 * ends with the writer's pid and start time so that cleanup can tell a dead writer's leftover
 * from a file being written right now.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: { durable?: boolean } = {}): Promise<void> {
  const durable = options.durable ?? true;
  const writer = formatProcessToken(currentProcess());
  const tmp = join(dirname(path), `.tmp-${basename(path)}-${writer}-${randomBytes(6).toString("hex")}`);
  if (!durable) return writeSmallFileAtomicSync(tmp, path, data, join(dirname(path), `.tmp-${basename(path)}.old-${writer}-${randomBytes(6).toString("hex")}`));
  const handle = await open(tmp, "wx", 0o644);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(tmp).catch(() => undefined); // the write error is the one to report; a dead writer's temp file is removed on the next open
    throw error;
  }
  await handle.close();
  crashPoint("atomic-file.written");
  try {
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined); // the write error is the one to report; a dead writer's temp file is removed on the next open
    throw error;
  }
  if (durable) await syncDirectory(dirname(path));
  crashPoint("atomic-file.renamed");
}

/**
 * The same without fsyncs, synchronously: the records written so are small (build cache
 * records, leases), several a build step, and each async call is a round trip to the thread
 * pool, slowest while sandboxes keep the cores busy. The file replaced is first linked to
 * `aside` and removed in the background: on a disk mounted with `discard`, a rename that
 * frees the old file's block waits for the device, here on the main thread.
 */
function writeSmallFileAtomicSync(tmp: string, path: string, data: string | Uint8Array, aside: string): void {
  try {
    writeFileSync(tmp, data, { flag: "wx", mode: 0o644 });
    crashPoint("atomic-file.written");
    const setAside = linkIfExists(path, aside);
    renameSync(tmp, path);
    // A removal that fails leaves a dead writer's `.tmp-` file, which the next open removes.
    if (setAside) unlink(aside).catch(() => undefined);
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {
      // The write error is the one to report; a dead writer's temp file is removed on the next open.
    }
    throw error;
  }
  crashPoint("atomic-file.renamed");
}

/** Hard-links `path` to `link`; false when there is no file at `path`. */
function linkIfExists(path: string, link: string): boolean {
  try {
    linkSync(path, link);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}

/** Makes a rename or unlink in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** True for the temporary siblings `writeFileAtomic` leaves behind when killed. */
export function isAtomicTempName(name: string): boolean {
  return name.startsWith(".tmp-");
}

/** The process that wrote a `.tmp-*` file, or undefined for names without one (older files). */
export function atomicTempWriter(name: string): ProcessIdentity | undefined {
  const match = /-(\d+-\d+)-[0-9a-f]{12}$/.exec(name);
  return isAtomicTempName(name) && match !== null ? parseProcessToken(match[1]) : undefined;
}
