import { randomBytes } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { detectCgroupMode } from "./cgroup-mode.js";
import { findExecutable, type RuntimeName } from "./oci-runtime.js";
import { readTextOrEmptySync } from "../util/read-small-file.js";
import type { RuntimeProbe } from "./runtime-probe.js";

/**
 * A probe starts trial sandboxes (a few tens of milliseconds each, up to four for crun on a
 * hybrid host): too much for every build. Its result holds as long as the machine (boot id),
 * the cgroup layout and the runtime binary do, so it is kept in a file per runtime and used
 * while all three match. A missing, stale or unreadable file means probing again.
 */
export async function withProbeCache(dir: string, name: RuntimeName, path: string | undefined, probe: () => Promise<RuntimeProbe>): Promise<RuntimeProbe> {
  const file = join(dir, `probe-${name}.json`);
  const identity = await identify(name, path);
  if (identity !== undefined) {
    const saved = readSaved(file);
    if (saved?.identity === identity && saved.probe.name === name) return saved.probe;
  }
  const result = await probe();
  if (identity !== undefined) {
    // Written whole then renamed, so a reader never sees half; a failure only costs the next probe.
    const tmp = `${file}.tmp-${randomBytes(6).toString("hex")}`;
    await mkdir(dir, { recursive: true })
      .then(() => writeFile(tmp, JSON.stringify({ identity, probe: result })))
      .then(() => rename(tmp, file))
      .catch(() => undefined);
  }
  return result;
}

/** What the probe result depends on, as one string; undefined when the binary is not there. */
async function identify(name: RuntimeName, path: string | undefined): Promise<string | undefined> {
  const binary = await findExecutable(path ?? name);
  const base = binary === undefined ? undefined : await binaryBootIdentity(binary);
  if (base === undefined) return undefined;
  return [base, await detectCgroupMode(), process.getuid?.() ?? ""].join("\0");
}

/**
 * A runtime binary as of this boot (path, inode, size, mtime, boot id), for results kept
 * across processes until the binary or the boot changes; undefined when it cannot be told.
 */
export async function binaryBootIdentity(binary: string): Promise<string | undefined> {
  // Synchronous: a stat and a 37-byte read, on the first RUN's way to starting.
  let info;
  let boot: string;
  try {
    info = statSync(binary);
    boot = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return undefined; // no binary, or no boot id to tell this boot by
  }
  if (boot === "") return undefined;
  return [binary, info.ino, info.size, info.mtimeMs, boot].join("\0");
}

/** A kept probe result (read synchronously, a small file); undefined when there is none or it is broken: probe. */
function readSaved(file: string): { identity: string; probe: RuntimeProbe } | undefined {
  const text = readTextOrEmptySync(file);
  try {
    return JSON.parse(text) as { identity: string; probe: RuntimeProbe };
  } catch {
    return undefined; // none yet ("") or cut short
  }
}
