// `npm run bench [-- --only startup,parse,layers,exec,build,registry] [--layer-mb N] [--context-files N] [--registry-mb N] [--corpus DIR]`: every benchmark, in one
// run, so ratios against the peers (node -e 0, GNU tar, bare runc/crun) are measured under the
// same machine load. Speed targets live here, never in timed tests.
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { benchBuild } from "./build-bench.js";
import { benchExec } from "./exec-bench.js";
import { benchLayers } from "./layer-bench.js";
import { benchParse } from "./parse-bench.js";
import { benchRegistry, formatRegistryFigures } from "./registry-bench.js";
import { benchStartup } from "./startup-bench.js";

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    "layer-mb": { type: "string" },
    "context-files": { type: "string" },
    "registry-mb": { type: "string" },
    corpus: { type: "string" },
    runs: { type: "string" },
  },
});
const only = values.only ? new Set(values.only.split(",")) : undefined;
const wanted = (name: string) => !only || only.has(name);
const line = (text: string) => process.stdout.write(`${text}\n`);

if (wanted("startup")) {
  const f = benchStartup();
  line(`startup   node -e 0 ${f.nodeMs.toFixed(1)} ms | tsbuild --version ${f.versionMs.toFixed(1)} ms | +${f.overheadMs.toFixed(1)} ms (target: +50 ms)`);
}

if (wanted("parse")) {
  const corpus = resolve(values.corpus ?? "../shared/corpus/dockerfiles");
  if (existsSync(corpus)) {
    const f = await benchParse(corpus);
    line(`parse     ${f.files} files, ${(f.bytes / 1e6).toFixed(2)} MB: ${f.filesPerSecond.toFixed(0)} files/s, ${f.megabytesPerSecond.toFixed(2)} MB/s`);
  } else {
    line(`parse     skipped: no corpus at ${corpus} (give --corpus DIR)`);
  }
}

if (wanted("layers")) {
  const sizeMB = Number(values["layer-mb"] ?? 500);
  const f = await benchLayers({ sizeMB, workDir: tmpdir() });
  line(
    `layers    ${f.sizeMB} MB, ${f.files} files (${f.snapshotter}): diff+gzip ${f.diffMBps.toFixed(1)} MB/s vs tar -czf ${f.tarCreateMBps.toFixed(1)} MB/s` +
      ` | apply ${f.applyMBps.toFixed(1)} MB/s vs tar -xzf ${f.tarExtractMBps.toFixed(1)} MB/s`,
  );
}

if (wanted("exec")) {
  for (const f of await benchExec({ runs: Number(values.runs ?? 50) })) {
    const step = f.stepMs === undefined ? `step not measured (${f.snapshotter ?? "no snapshotter"})` : `RUN step with empty layer ${f.stepMs.toFixed(1)} ms`;
    line(`exec      ${f.runtime}${f.hybridWrapper ? " (hybrid wrapper)" : ""}: bare ${f.bareMs.toFixed(1)} ms | sandbox ${f.sandboxMs.toFixed(1)} ms (+${f.overheadMs.toFixed(1)} ms) | ${step} [median of ${f.runs}]`);
  }
}

if (wanted("build")) {
  const f = await benchBuild({ files: Number(values["context-files"] ?? 20_000) });
  const ours = f.results[0];
  for (const r of f.results) {
    const ratio = r === ours ? "" : ` | tsbuild is ${(r.coldMs / ours.coldMs).toFixed(2)}x / ${(r.noopMs / ours.noopMs).toFixed(2)}x / ${(r.oneFileMs / ours.oneFileMs).toFixed(2)}x as fast`;
    line(`build     ${r.builder}, ${f.files} files (${f.contextMB.toFixed(0)} MB): cold ${r.coldMs.toFixed(0)} ms | no-op ${r.noopMs.toFixed(0)} ms | one file changed ${r.oneFileMs.toFixed(0)} ms${ratio}`);
  }
  if (f.results.length === 1) line("build     (install docker with a running daemon, or buildah, to compare in the same run)");
}

if (wanted("registry")) {
  const f = await benchRegistry({ sizeMB: Number(values["registry-mb"] ?? 500) });
  line(formatRegistryFigures(f));
}
