import { familiarString, parseReference } from "../oci/reference.js";
import type { Worker } from "./worker.js";

/** docker's `tag`: gives the image `source` names the name `target` too; returns it as docker shows it. */
export async function tagImage(worker: Worker, { source, target }: { source: string; target: string }): Promise<{ name: string }> {
  const image = await worker.store.images.get(source);
  const record = await worker.store.images.tag(target, image.digest);
  return { name: familiarString(parseReference(record.name ?? target)) };
}
