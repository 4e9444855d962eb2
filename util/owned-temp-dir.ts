import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { currentProcess, formatProcessToken, parseProcessToken, type ProcessIdentity } from "../store/process-identity.js";

/**
 * Temporary directories outside the root (in $TMPDIR) named after the process that owns
 * them, `tsbuild-<what>-<pid>-<start>-XXXXXX`, so that the next tsbuild recognises what a
 * killed one left (an ssh socket dir, an archive being read) and removes it, while the
 * directories of live processes and of anything else in $TMPDIR are never touched.
 */

const PATTERN = /^tsbuild-([a-z]+)-(\d+-\d+)-[A-Za-z0-9]{6}$/;

/** A fresh directory `<parent>/tsbuild-<what>-<pid>-<start>-XXXXXX`, mode 0700. */
export async function makeOwnedTempDir(parent: string, what: string): Promise<string> {
  if (!/^[a-z]+$/.test(what)) throw new Error(`makeOwnedTempDir: "${what}" is not a lower-case word`);
  return mkdtemp(join(parent, `tsbuild-${what}-${formatProcessToken(currentProcess())}-`));
}

/** What a directory `makeOwnedTempDir` made is for (its `what`), or undefined for any other name. */
export function kindOfTempDir(name: string): string | undefined {
  return PATTERN.exec(name)?.[1];
}

/** The owner of a directory name `makeOwnedTempDir` made, or undefined for any other name. */
export function ownerOfTempDir(name: string): ProcessIdentity | undefined {
  const match = PATTERN.exec(name);
  return match === null ? undefined : parseProcessToken(match[2]);
}
