import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, unlinkSync, writeFileSync } from "node:fs";
import { link, lstat, readFile, readdir, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { TsbuildError } from "../errors.js";
import {
  currentProcess,
  formatProcessToken,
  isProcessAlive,
  parseProcessToken,
  type ProcessIdentity,
} from "./process-identity.js";
import { lstatIfExists, lstatIfExistsSync } from "../util/stat-if-exists.js";

/**
 * A cross-process lock on one path, safe against owners killed at any moment.
 *
 * Protocol (all names are siblings of `lockPath`):
 * - To acquire, write an owner file `<lock>.owner-<pid>-<start>-<rand>` holding the owner's
 *   identity, then hard-link it to `<lock>`. link(2) fails if `<lock>` exists, so exactly one
 *   process wins, and the lock file never exists half written. To release, unlink `<lock>`;
 *   a process keeps its owner file for its next acquisition and removes it at exit.
 * - A lock whose owner (pid + start time from /proc) is gone is stale. To break it, a process
 *   first claims the right by renaming the stale owner file to `<owner file>.break-<its id>`;
 *   rename(2) of one source succeeds for one process only. The claimant then removes `<lock>`
 *   (checking it is still the same inode) and its claim. A claimant killed half way leaves a
 *   claim file naming a dead process, which the next one claims the same way.
 * - Leftovers of dead processes that no longer hold the lock (link count 1) are removed by
 *   `cleanLockLeftovers`.
 */

export interface FileLockOptions {
  /** Give up after this many milliseconds with an IN_USE error. Default: wait forever. */
  timeoutMs?: number;
  /** Abort waiting (CANCELLED error). */
  signal?: AbortSignal;
  /** Longest pause between two attempts while the lock is held. Default 100 ms. */
  maxPollMs?: number;
}

/** A held lock; pass it to `releaseFileLock`. */
export interface FileLockHandle {
  readonly lockPath: string;
  readonly ownerPath: string;
}

interface LockRecord extends ProcessIdentity {
  token: string;
}

const OWNER_INFIX = ".owner-";
const BREAK_INFIX = ".break-";

/** Runs `fn` while holding the lock on `lockPath`, and releases it however `fn` ends. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const handle = await acquireFileLock(lockPath, options);
  try {
    return await fn();
  } finally {
    await releaseFileLock(handle);
  }
}

/**
 * This process's side of one lock. Callers in one process queue here rather than on the file:
 * a waiter polling the file sleeps up to 100 ms after each try, and a build takes the store
 * lock dozens of times, often from steps running side by side. A release with a waiter queued
 * hands the file lock on as it is, without removing and linking it again.
 */
interface Gate {
  /** The handle given to the caller holding the lock now, if any. */
  current: FileLockHandle | undefined;
  /** The file lock this process holds, while it holds it. */
  file: FileLockHandle | undefined;
  /** Callers waiting for their turn, first come first served. */
  waiters: Array<() => void>;
}

const gates = new Map<string, Gate>();

/** Waits until this process holds the lock on `lockPath`. Locks are not reentrant. */
export async function acquireFileLock(lockPath: string, options: FileLockOptions = {}): Promise<FileLockHandle> {
  const key = resolve(lockPath);
  let gate = gates.get(key);
  if (gate === undefined) {
    gate = { current: undefined, file: undefined, waiters: [] };
    gates.set(key, gate);
  } else {
    await waitForTurn(gate, lockPath, options);
  }
  try {
    gate.file ??= await acquireLockFile(lockPath, options);
  } catch (error) {
    passTurn(key, gate);
    throw error;
  }
  // A new handle each time: a second release of an earlier one finds it is not current.
  const handle: FileLockHandle = { lockPath, ownerPath: gate.file.ownerPath };
  gate.current = handle;
  return handle;
}

/** Queues for the gate; rejects as a failed file lock would on timeout or abort. */
function waitForTurn(gate: Gate, lockPath: string, options: FileLockOptions): Promise<void> {
  return new Promise<void>((resolveTurn, reject) => {
    const { signal, timeoutMs } = options;
    let timer: NodeJS.Timeout | undefined;
    const leave = (error: TsbuildError) => {
      const at = gate.waiters.indexOf(turn);
      if (at >= 0) gate.waiters.splice(at, 1);
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      reject(error);
    };
    const onAbort = () => leave(new TsbuildError("CANCELLED", `Cannot lock "${lockPath}": cancelled`, { cause: signal?.reason }));
    const turn = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolveTurn();
    };
    if (signal?.aborted === true) return onAbort();
    if (timeoutMs !== undefined && timeoutMs <= 0) return leave(heldError(lockPath, process.pid, timeoutMs));
    gate.waiters.push(turn);
    signal?.addEventListener("abort", onAbort, { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(() => leave(heldError(lockPath, process.pid, timeoutMs)), timeoutMs);
  });
}

/** Gives the gate to the next waiter (with the file lock as it stands), or closes it. */
function passTurn(key: string, gate: Gate): void {
  gate.current = undefined;
  const next = gate.waiters.shift();
  if (next !== undefined) next();
  else gates.delete(key);
}

function heldError(lockPath: string, pid: number, timeoutMs: number): TsbuildError {
  return new TsbuildError("IN_USE", `Cannot lock "${lockPath}": held by process ${pid} for more than ${timeoutMs} ms`, {
    hint: "Another tsbuild process is using this root; wait for it or stop it",
  });
}

/**
 * Takes the lock file itself, against other processes. The uncontended path is one
 * synchronous link(2): microseconds, where each hop through Node's thread pool costs a
 * millisecond or more while sandboxes keep the cores busy, and a build takes the store lock
 * dozens of times, often on the path of a step.
 */
async function acquireLockFile(lockPath: string, options: FileLockOptions): Promise<FileLockHandle> {
  let ownerPath = ownerFileOf(lockPath);
  let remade = false;
  const started = Date.now();
  const maxPollMs = options.maxPollMs ?? 100;
  let pause = 2;
  for (;;) {
    if (options.signal?.aborted) {
      throw new TsbuildError("CANCELLED", `Cannot lock "${lockPath}": cancelled`, { cause: options.signal.reason });
    }
    try {
      linkSync(ownerPath, lockPath);
      return { lockPath, ownerPath };
    } catch (error) {
      if (errorCode(error) === "ENOENT" && !remade) {
        // The kept owner file (or its directory) was removed meanwhile: make it again, once.
        ownerFiles.delete(resolve(lockPath));
        ownerPath = ownerFileOf(lockPath);
        remade = true;
        continue;
      }
      if (errorCode(error) !== "EEXIST") throw error;
    }
    const holder = await readHolder(lockPath);
    if (holder === undefined) continue; // released meanwhile: try again at once
    if (!isProcessAlive(holder)) {
      await breakStaleLock(lockPath, holder.token);
      continue;
    }
    if (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs) throw heldError(lockPath, holder.pid, options.timeoutMs);
    await sleep(pause, undefined, options.signal ? { signal: options.signal } : undefined).catch(() => undefined); // an abort is checked at the top of the loop
    pause = Math.min(pause * 2, maxPollMs);
  }
}

/**
 * This process's owner file of each lock path, kept from one acquisition to the next. A file
 * made and removed per acquisition cost more than the rest of it on this kind of disk (ext4
 * without a journal, mounted with `discard`): a new inode first skips those deleted in the
 * last minutes, and a removal waits for the device to discard the file's block. Removed at
 * exit; those of a killed process by `cleanLockLeftovers`.
 */
const ownerFiles = new Map<string, string>();

function ownerFileOf(lockPath: string): string {
  const key = resolve(lockPath);
  let ownerPath = ownerFiles.get(key);
  if (ownerPath === undefined) {
    const me = currentProcess();
    const token = `${formatProcessToken(me)}-${randomBytes(6).toString("hex")}`;
    ownerPath = `${lockPath}${OWNER_INFIX}${token}`;
    const record: LockRecord = { ...me, token };
    writeOwnerFile(ownerPath, JSON.stringify(record));
    if (ownerFiles.size === 0) process.once("exit", removeOwnerFiles);
    ownerFiles.set(key, ownerPath);
  }
  return ownerPath;
}

/**
 * At exit: the owner files of locks this process does not hold. A lock still held keeps its
 * owner file, as when the process is killed, so the next process finds a complete stale lock.
 */
function removeOwnerFiles(): void {
  for (const [key, ownerPath] of ownerFiles) {
    if (gates.get(key)?.file !== undefined) continue;
    try {
      unlinkSync(ownerPath);
    } catch {
      // Nothing can be reported at exit; the next process's `cleanLockLeftovers` removes it.
    }
  }
  ownerFiles.clear();
}

/**
 * Writes a new owner file. Its directory is made only when it is missing: it is nearly
 * always there.
 */
function writeOwnerFile(ownerPath: string, text: string): void {
  try {
    writeFileSync(ownerPath, text, { flag: "wx", mode: 0o644 });
  } catch (error) {
    if (errorCode(error) !== "ENOENT") throw error;
    mkdirSync(dirname(ownerPath), { recursive: true });
    writeFileSync(ownerPath, text, { flag: "wx", mode: 0o644 });
  }
}

/** Releases a lock taken with `acquireFileLock`. Releasing twice does nothing. */
export async function releaseFileLock(handle: FileLockHandle): Promise<void> {
  const key = resolve(handle.lockPath);
  const gate = gates.get(key);
  if (gate === undefined || gate.current !== handle) return;
  gate.current = undefined;
  if (gate.waiters.length > 0) return passTurn(key, gate);
  // The last holder: the file goes, while the gate stays shut to callers that come meanwhile
  // (they would find this process's file and poll); the first of them then takes the file.
  const file = gate.file;
  gate.file = undefined;
  try {
    if (file !== undefined) releaseLockFile(file);
  } finally {
    passTurn(key, gate);
  }
}

/** Synchronous, as taking it (see `acquireLockFile`). The owner file stays for the next time. */
function releaseLockFile(handle: FileLockHandle): void {
  const lockStat = lstatIfExistsSync(handle.lockPath);
  const ownerStat = lstatIfExistsSync(handle.ownerPath);
  // Only remove the lock file if it is still ours (same inode as our owner file).
  if (lockStat !== undefined && ownerStat !== undefined && lockStat.ino === ownerStat.ino) unlinkIfThere(handle.lockPath);
}

function unlinkIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    ignoreMissing(error);
  }
}

/** The process holding `lockPath`, or undefined when it is free. */
export async function readFileLockOwner(lockPath: string): Promise<(ProcessIdentity & { alive: boolean }) | undefined> {
  const holder = await readHolder(lockPath);
  return holder === undefined ? undefined : { pid: holder.pid, startTime: holder.startTime, alive: isProcessAlive(holder) };
}

/**
 * Removes owner and claim files that dead processes left in `dir` and that no longer hold a
 * lock (a held lock's owner file has a second link: the lock file itself).
 */
export async function cleanLockLeftovers(dir: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return 0;
    throw error;
  }
  let removed = 0;
  for (const name of names) {
    const writer = leftoverWriter(name);
    if (writer === undefined || isProcessAlive(writer)) continue;
    const path = join(dir, name);
    const stat = await lstatIfExists(path);
    if (stat === undefined || stat.nlink !== 1) continue;
    await unlink(path).then(() => removed++, ignoreMissing);
  }
  return removed;
}

/** The process that wrote an owner or claim file, from its name. */
function leftoverWriter(name: string): ProcessIdentity | undefined {
  const breakAt = name.lastIndexOf(BREAK_INFIX);
  if (breakAt >= 0) return parseProcessToken(name.slice(breakAt + BREAK_INFIX.length));
  const ownerAt = name.lastIndexOf(OWNER_INFIX);
  if (ownerAt >= 0) return parseProcessToken(name.slice(ownerAt + OWNER_INFIX.length));
  return undefined;
}

async function readHolder(lockPath: string): Promise<LockRecord | undefined> {
  let text: string;
  try {
    text = await readFile(lockPath, "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
  try {
    const record = JSON.parse(text) as LockRecord;
    if (typeof record.token === "string" && Number.isInteger(record.pid)) return record;
  } catch {
    // Owner files are not fsynced, so after a power loss one may be empty: find it by inode.
  }
  return readHolderByInode(lockPath);
}

async function readHolderByInode(lockPath: string): Promise<LockRecord | undefined> {
  const lockStat = await lstatIfExists(lockPath);
  if (lockStat === undefined) return undefined;
  const prefix = `${basename(lockPath)}${OWNER_INFIX}`;
  for (const name of await readdir(dirname(lockPath))) {
    if (!name.startsWith(prefix) || name.includes(BREAK_INFIX)) continue;
    const stat = await lstatIfExists(join(dirname(lockPath), name));
    if (stat?.ino !== lockStat.ino) continue;
    const token = name.slice(prefix.length);
    const identity = parseProcessToken(token);
    if (identity !== undefined) return { ...identity, token };
  }
  // No owner file and unreadable content: nobody can ever release it, treat it as dead.
  return { pid: 0, startTime: 0, token: "" };
}

/** Removes the lock held by the dead owner `token`, unless another process is doing it. */
async function breakStaleLock(lockPath: string, token: string): Promise<void> {
  const dir = dirname(lockPath);
  const ownerName = `${basename(lockPath)}${OWNER_INFIX}${token}`;
  const claimPath = join(dir, `${ownerName}${BREAK_INFIX}${formatProcessToken(currentProcess())}-${randomBytes(6).toString("hex")}`);
  const candidates = [join(dir, ownerName)];
  for (const name of await readdir(dir)) {
    if (!name.startsWith(`${ownerName}${BREAK_INFIX}`)) continue;
    const breaker = parseProcessToken(name.slice(ownerName.length + BREAK_INFIX.length));
    if (breaker !== undefined && !isProcessAlive(breaker)) candidates.push(join(dir, name));
  }
  let claimed = false;
  for (const candidate of candidates) {
    try {
      await rename(candidate, claimPath);
      claimed = true;
      break;
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
    }
  }
  if (!claimed) {
    if (token === "") await unlinkIfUnowned(lockPath);
    else await sleep(2); // a live process is breaking it right now
    return;
  }
  const [lockStat, claimStat] = await Promise.all([lstatIfExists(lockPath), lstat(claimPath)]);
  if (lockStat !== undefined && lockStat.ino === claimStat.ino) await unlink(lockPath).catch(ignoreMissing);
  await unlink(claimPath).catch(ignoreMissing);
}

/** A lock file with no owner file at all (only after outside tampering or power loss). */
async function unlinkIfUnowned(lockPath: string): Promise<void> {
  const stat = await lstatIfExists(lockPath);
  if (stat !== undefined && stat.nlink === 1) {
    // Move it aside first so that only one process removes exactly this inode.
    const aside = `${lockPath}${BREAK_INFIX}${formatProcessToken(currentProcess())}-${randomBytes(6).toString("hex")}`;
    await rename(lockPath, aside).catch(ignoreMissing);
    const moved = await lstatIfExists(aside);
    if (moved !== undefined && moved.ino !== stat.ino) await link(aside, lockPath).catch(() => undefined); // someone took the lock meanwhile: theirs stands
    await unlink(aside).catch(ignoreMissing);
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function ignoreMissing(error: unknown): void {
  if (errorCode(error) !== "ENOENT") throw error;
}
