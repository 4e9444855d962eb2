import { TsbuildError } from "../errors.js";
import { openContainerRuntime } from "../executor/container-runtime.js";
import type { OutputStream } from "../executor/types.js";
import type { Worker } from "../worker/worker.js";
import { containerLogs } from "./container-logs.js";
import { findContainer } from "./container-record.js";
import { containerState } from "./container-state.js";
import { waitContainer } from "./wait-container.js";

export interface AttachContainerOptions {
  /** The container's output from now on, as its shim logs it. */
  onOutput: (stream: OutputStream, chunk: Buffer) => void;
  signal?: AbortSignal;
}

/**
 * docker's `attach` for a running container: its output from now until it stops, then its
 * exit code. The output comes from the log its shim writes, so any number of callers can
 * attach and go without disturbing it. (Its stdin is not attached: a detached container's is closed.)
 */
export async function attachContainer(worker: Worker, text: string, options: AttachContainerOptions): Promise<number> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  if (!(await containerState(record, { root: worker.root, runtime })).running) {
    throw new TsbuildError("CONFLICT", `Cannot attach to container "${text}": it is not running`, { hint: `Start it with "tsbuild start ${record.name}"` });
  }
  for await (const entry of containerLogs(worker, record.id, { follow: true, tail: 0, ...(options.signal === undefined ? {} : { signal: options.signal }) })) {
    options.onOutput(entry.stream, Buffer.from(entry.log, "utf8"));
  }
  if (options.signal?.aborted === true) throw new TsbuildError("CANCELLED", `Attaching to container "${text}" cancelled`);
  return waitContainer(worker, record.id, options.signal === undefined ? {} : { signal: options.signal });
}
