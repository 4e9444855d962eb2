import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDockerfile } from "../parser/parse-dockerfile.js";

export interface ParseBenchFigures {
  files: number;
  bytes: number;
  seconds: number;
  filesPerSecond: number;
  megabytesPerSecond: number;
}

/**
 * Parses every `*.Dockerfile` (or `<case>/Dockerfile`) under `corpusDir` many times after
 * a warm-up, and reports the throughput of the measured rounds.
 * `minSeconds` bounds the measured time from below (default 2 s).
 */
export async function benchParse(corpusDir: string, options: { minSeconds?: number } = {}): Promise<ParseBenchFigures> {
  const texts = await readCorpus(corpusDir);
  if (texts.length === 0) throw new Error(`No Dockerfiles in ${corpusDir}`);
  const bytesPerRound = texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
  const parseAll = () => {
    for (const text of texts) {
      try {
        parseDockerfile(text);
      } catch {
        // A corpus may hold files that do not parse; they still cost time to reject.
      }
    }
  };
  // Warm-up: builds the grammar and lets the JIT settle.
  for (let i = 0; i < 5; i++) parseAll();
  const minSeconds = options.minSeconds ?? 2;
  let rounds = 0;
  const started = process.hrtime.bigint();
  let seconds = 0;
  do {
    parseAll();
    rounds++;
    seconds = Number(process.hrtime.bigint() - started) / 1e9;
  } while (seconds < minSeconds);
  const files = texts.length * rounds;
  const bytes = bytesPerRound * rounds;
  return { files, bytes, seconds, filesPerSecond: files / seconds, megabytesPerSecond: bytes / 1e6 / seconds };
}

async function readCorpus(dir: string): Promise<string[]> {
  const texts: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    if (entry.isFile() && entry.name.endsWith(".Dockerfile")) texts.push(new TextDecoder().decode(await readFile(path)));
    else if (entry.isDirectory()) {
      const nested = join(path, "Dockerfile");
      const data = await readFile(nested).catch(() => undefined);
      if (data) texts.push(new TextDecoder().decode(data));
    }
  }
  return texts;
}

// `node dist/bench/parse-bench.js [DIR]` runs it directly.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? "../shared/corpus/dockerfiles";
  const figures = await benchParse(dir);
  process.stdout.write(
    `${figures.files} files, ${(figures.bytes / 1e6).toFixed(1)} MB in ${figures.seconds.toFixed(2)} s: ` +
      `${figures.filesPerSecond.toFixed(0)} files/s, ${figures.megabytesPerSecond.toFixed(2)} MB/s\n`,
  );
}
