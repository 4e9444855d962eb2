import type { Worker } from "../worker/worker.js";
import type { ContainerRecord } from "./container-record.js";
import { createContainer, type CreateContainerOptions } from "./create-container.js";
import { startContainer, type AttachOptions } from "./start-container.js";

export interface RunContainerOptions extends CreateContainerOptions {
  /** Run in the background (docker's -d): resolve once it runs, with no exit code. */
  detach?: boolean;
  /** How an attached run is watched (ignored with `detach`). */
  attach?: AttachOptions;
}

export interface RunContainerResult {
  record: ContainerRecord;
  /** The process's exit status (attached runs). */
  exitCode?: number;
}

/**
 * docker's `run`: creates a container and starts it, attached (resolving with the exit
 * status when the process ends) or detached. With `autoRemove` the container's shim
 * removes it when it exits, even when this process is gone by then.
 *
 * @example
 * const { exitCode } = await runContainer(worker, { image: "busybox", command: ["sh", "-c", "echo hi"], attach: { onOutput } });
 */
export async function runContainer(worker: Worker, options: RunContainerOptions): Promise<RunContainerResult> {
  const record = await createContainer(worker, options);
  if (options.detach === true) {
    await startContainer(worker, record.id);
    return { record };
  }
  const started = await startContainer(worker, record.id, { attach: options.attach ?? {} });
  return { record, exitCode: await started.exited! };
}
