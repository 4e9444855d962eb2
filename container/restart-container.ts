import type { Worker } from "../worker/worker.js";
import type { ContainerRecord } from "./container-record.js";
import { startContainer } from "./start-container.js";
import { stopContainer, type StopContainerOptions } from "./stop-container.js";

/** docker's `restart`: stop (signal, then SIGKILL after the timeout) and start again, detached. */
export async function restartContainer(worker: Worker, text: string, options: StopContainerOptions = {}): Promise<ContainerRecord> {
  const record = await stopContainer(worker, text, options);
  await startContainer(worker, record.id);
  return record;
}
