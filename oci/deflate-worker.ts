// The entry of a deflate pool thread (deflate-pool.ts): one block in, its deflate and CRC out.
import { parentPort } from "node:worker_threads";
import { deflateBlock, type DeflateBlockInput } from "./deflate-block.js";

export interface DeflateTask extends DeflateBlockInput {
  id: number;
}

export interface DeflateResult {
  id: number;
  output?: Uint8Array;
  crc?: number;
  error?: string;
}

parentPort?.on("message", (task: DeflateTask) => {
  let result: DeflateResult;
  const transfer: ArrayBuffer[] = [];
  try {
    const { output, crc } = deflateBlock(task);
    // Only memory the result owns whole may be transferred: small Buffers share a pool.
    const owned = output.byteOffset === 0 && output.byteLength === output.buffer.byteLength ? output : new Uint8Array(output);
    transfer.push(owned.buffer as ArrayBuffer);
    result = { id: task.id, output: owned, crc };
  } catch (error) {
    result = { id: task.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort!.postMessage(result, transfer);
});
