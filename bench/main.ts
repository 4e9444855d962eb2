// `npm run bench [-- --only cases,startup,parse,layers,exec,registry] [--cases per-run,big-layer,...] [--runs N] [--exec-runs N] [--no-docker] [--cpu-prof DIR] [--layer-mb N] [--context-files N] [--registry-mb N] [--corpus DIR]`: every benchmark, in one
// run, so ratios against the peers (docker's BuildKit, node -e 0, GNU tar, bare runc/crun) are
// measured under the same machine load. Speed targets live here, never in timed tests.
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { BUILD_CASES, benchBuildCases, formatBuildCases, type BuildCaseId } from "./build-cases.js";
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
    "exec-runs": { type: "string" },
    cases: { type: "string" },
    "no-docker": { type: "boolean" },
    "cpu-prof": { type: "string" },
  },
});
const only = values.only ? new Set(values.only.split(",")) : undefined;
const wanted = (name: string) => !only || only.has(name);
const line = (text: string) => process.stdout.write(`${text}\n`);

if (wanted("cases")) {
  // The cases of issue 12 against docker's BuildKit in the same run: the figures that matter.
  const known = new Set<string>(BUILD_CASES.map((c) => c.id));
  const cases = values.cases?.split(",").filter((id): id is BuildCaseId => known.has(id));
  const f = await benchBuildCases({
    runs: Number(values.runs ?? 3),
    contextFiles: Number(values["context-files"] ?? 20_000),
    ...(cases === undefined ? {} : { only: new Set(cases) }),
    ...(values["no-docker"] ? { noDocker: true } : {}),
    ...(values["cpu-prof"] === undefined ? {} : { cpuProfDir: resolve(values["cpu-prof"]) }),
    onProgress: (text) => process.stderr.write(`  ${text}\n`),
  });
  for (const text of formatBuildCases(f)) line(text);
}

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
  for (const f of await benchExec({ runs: Number(values["exec-runs"] ?? 50) })) {
    const step = f.stepMs === undefined ? `step not measured (${f.snapshotter ?? "no snapshotter"})` : `RUN step with empty layer ${f.stepMs.toFixed(1)} ms`;
    line(`exec      ${f.runtime}${f.hybridWrapper ? " (hybrid wrapper)" : ""}: bare ${f.bareMs.toFixed(1)} ms | sandbox ${f.sandboxMs.toFixed(1)} ms (+${f.overheadMs.toFixed(1)} ms) | ${step} [median of ${f.runs}]`);
  }
}

if (wanted("registry")) {
  const f = await benchRegistry({ sizeMB: Number(values["registry-mb"] ?? 500) });
  line(formatRegistryFigures(f));
}
