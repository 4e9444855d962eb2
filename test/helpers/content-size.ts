import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * What docker's graph drivers count as a directory tree's size (moby's directory.Size): the
 * lstat size of everything but directories, each inode once. Walks the real files, so it
 * checks tsbuild's count from tar headers against the file system.
 */
export async function contentSize(dir: string): Promise<number> {
  const seen = new Set<string>();
  let total = 0;
  const walk = async (path: string): Promise<void> => {
    for (const name of await readdir(path)) {
      const child = join(path, name);
      const stat = await lstat(child);
      if (stat.isDirectory()) {
        await walk(child);
        continue;
      }
      const inode = `${stat.dev}:${stat.ino}`;
      if (seen.has(inode)) continue;
      seen.add(inode);
      total += stat.size;
    }
  };
  await walk(dir);
  return total;
}
