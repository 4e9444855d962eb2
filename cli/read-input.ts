import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { TsbuildError } from "../errors.js";
import { decodeDockerfileBytes } from "../parser/dockerfile-bytes.js";

/** Reads a Dockerfile named on the command line, or standard input for `-`; bytes that are not UTF-8 are kept (parser/dockerfile-bytes.ts). */
export async function readInput(path: string, options: { cwd: string; stdin: Readable }): Promise<string> {
  if (path === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of options.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    return decodeDockerfileBytes(Buffer.concat(chunks));
  }
  try {
    return decodeDockerfileBytes(await readFile(resolve(options.cwd, path)));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (error as Error).message;
    throw new TsbuildError("FILE_NOT_FOUND", `Cannot read "${path}": ${reason}`, { cause: error });
  }
}
