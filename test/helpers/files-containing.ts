import { execFileSync } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";

/** Every file under `dir` (blobs, records, logs), searched for `needle` as raw bytes; gzip blobs unpacked first. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    let data = await readFile(path);
    if (data[0] === 0x1f && data[1] === 0x8b) data = execFileSync("gzip", ["-dc"], { input: data, maxBuffer: 1 << 28 });
    if (data.includes(needle)) found.push(path);
  }
  return found;
}
