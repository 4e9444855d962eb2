import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Digest } from "../../oci/digest.js";
import { openWorker, type Worker } from "../../worker/worker.js";
import { makeLayer, writeTinyImage, type TinyImage } from "../store/tiny-image.js";

/** Runs `fn` with a fresh temp dir, removed afterwards however `fn` ends. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-registry-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A worker on `<dir>/<name>` (native snapshotter: these tests never unpack). */
export async function workerAt(dir: string, name: string): Promise<Worker> {
  return openWorker({ root: join(dir, name), snapshotter: "native" });
}

/** Writes an image of gzipped layers (one per entry of `layers`) and names it. */
export async function makeImage(worker: Worker, name: string, layers: Array<Record<string, string>>, options: { cmd?: string[] } = {}): Promise<TinyImage> {
  const blobs = [];
  for (const files of layers) blobs.push(await makeLayer(files));
  const image = await writeTinyImage(worker.store, blobs, options);
  await worker.store.images.tag(name, image.manifest);
  return image;
}

/** Text that gzip cannot shrink much: `bytes` of base64 noise. */
export function noise(bytes: number): string {
  return randomBytes(Math.ceil((bytes * 3) / 4)).toString("base64").slice(0, bytes);
}

/** Everything a store holds that a failed pull must not change: blobs and image records. */
export async function storeState(worker: Worker): Promise<{ blobs: Digest[]; index: string }> {
  const blobs: Digest[] = [];
  for await (const blob of worker.store.content.walk()) blobs.push(blob.digest);
  const index = await readFile(join(worker.root, "content", "index.json"), "utf8");
  return { blobs: blobs.sort(), index };
}
