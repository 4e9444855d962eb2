/**
 * Keeps the last bytes of a process's output so a failure can show its last lines without
 * holding the whole log in memory (the whole log goes to the step's log file).
 */
export class LogTail {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(maxBytes = 64 * 1024) {
    this.#maxBytes = maxBytes;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size - this.#chunks[0].length >= this.#maxBytes) {
      this.#size -= this.#chunks.shift()!.length;
    }
  }

  /** The last `count` lines (a trailing newline does not count as an empty line). */
  lines(count = 20): string {
    const text = Buffer.concat(this.#chunks).toString("utf8").replace(/\n$/, "");
    if (text === "") return "";
    return text.split("\n").slice(-count).join("\n");
  }
}
