import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface StartupFigures {
  runs: number;
  /** Median wall time of `node -e 0`, ms. */
  nodeMs: number;
  /** Median wall time of `tsbuild --version`, ms. */
  versionMs: number;
  /** The difference: what tsbuild itself costs to start. */
  overheadMs: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function time(args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: "ignore" });
  if (result.status !== 0) throw new Error(`node ${args.join(" ")} exited ${result.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Times `tsbuild --version` against a bare `node -e 0`, interleaved so drift hits both. */
export function benchStartup(options: { runs?: number } = {}): StartupFigures {
  const runs = options.runs ?? 30;
  const main = join(dirname(dirname(fileURLToPath(import.meta.url))), "cli", "main.js");
  const node: number[] = [];
  const version: number[] = [];
  time(["-e", "0"]);
  time([main, "--version"]);
  for (let i = 0; i < runs; i++) {
    node.push(time(["-e", "0"]));
    version.push(time([main, "--version"]));
  }
  const nodeMs = median(node);
  const versionMs = median(version);
  return { runs, nodeMs, versionMs, overheadMs: versionMs - nodeMs };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const figures = benchStartup();
  process.stdout.write(`startup: node -e 0 ${figures.nodeMs.toFixed(1)} ms, tsbuild --version ${figures.versionMs.toFixed(1)} ms (+${figures.overheadMs.toFixed(1)} ms)\n`);
}
