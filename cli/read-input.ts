import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { TsbuildError } from "../errors.js";

/** Reads a file named on the command line, or standard input for `-`, as UTF-8. */
export async function readInput(path: string, options: { cwd: string; stdin: Readable }): Promise<string> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of options.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return Buffer.concat(chunks).toString("utf8");
  }
  try {
    return await readFile(resolve(options.cwd, path), "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (error as Error).message;
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot read "${path}": ${reason}`, { cause: error });
  }
}
