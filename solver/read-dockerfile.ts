import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { TsbuildError } from "../errors.js";
import { decodeDockerfileBytes } from "../parser/dockerfile-bytes.js";

/** A Dockerfile as read: where it was found and its text (bytes that are not UTF-8 kept as escapes). */
export interface DockerfileText {
  path: string;
  text: string;
}

/**
 * Reads the Dockerfile at `path`. As in BuildKit (moby/moby#10858), a file named
 * `Dockerfile` that does not exist falls back to `dockerfile` in the same directory.
 * The bytes are decoded without loss (parser/dockerfile-bytes.ts), as Go keeps them.
 */
export async function readDockerfile(path: string): Promise<DockerfileText> {
  try {
    return { path, text: decodeDockerfileBytes(await readFile(path)) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && basename(path) === "Dockerfile") {
      const lower = join(dirname(path), "dockerfile");
      const bytes = await readFile(lower).catch(() => undefined);
      if (bytes !== undefined) return { path: lower, text: decodeDockerfileBytes(bytes) };
    }
    const reason = code === "ENOENT" ? "no such file or directory" : code === "EISDIR" ? "is a directory" : (error as Error).message;
    // BuildKit's words first ("failed to read dockerfile"), so a search for them finds this.
    throw new TsbuildError("FILE_NOT_FOUND", `failed to read dockerfile: open ${path}: ${reason}`, { cause: error });
  }
}
