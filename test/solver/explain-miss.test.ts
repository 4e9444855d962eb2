import { test } from "uvu";
import * as assert from "uvu/assert";
import { computeCacheKey, canonicalJson } from "../../solver/cache-key.js";
import { explainMiss, type StepComponents } from "../../solver/explain-miss.js";
import type { ExecDefinition } from "../../frontend/graph.js";

const RUN: ExecDefinition = { op: "exec", args: ["/bin/sh", "-c", "make"], env: ["PATH=/bin", "V=1"], cwd: "/", user: "", network: "default", security: "sandbox", mounts: [] };

function step(overrides: Partial<StepComponents> = {}): StepComponents {
  return { definition: canonicalJson(RUN), inputs: ["sha256:a"], inputNames: ["[1/2] FROM busybox"], files: [], ...overrides };
}

test("a miss names the variable that changed, or says the command changed", () => {
  const changedEnv = canonicalJson({ ...RUN, env: ["PATH=/bin", "V=2", "W=x"] });
  assert.is(explainMiss(step(), step({ definition: changedEnv }), { ignoreCache: false }).message, 'variables "V", "W" changed (build arg or ENV)');
  const changedArgs = canonicalJson({ ...RUN, args: ["/bin/sh", "-c", "make all"] });
  assert.is(explainMiss(step(), step({ definition: changedArgs }), { ignoreCache: false }).message, "its command changed");
});

test("a miss names the parent step that changed, but not the build context", () => {
  assert.is(explainMiss(step(), step({ inputs: ["sha256:b"] }), { ignoreCache: false }).message, 'it builds on "[1/2] FROM busybox", which changed');
  const copy = { inputs: ["sha256:a", "sha256:ctx"], inputNames: ["[1/2] FROM busybox", "[internal] load build context"], files: [['"a.txt" file 644 1111']] };
  const edited = { ...copy, inputs: ["sha256:a", "sha256:ctx2"], files: [['"a.txt" file 644 2222', '"b.txt" file 644 3333']] };
  assert.is(explainMiss(step(copy), step(edited), { ignoreCache: false }).message, 'file "a.txt", file "b.txt" (added) changed');
});

test("many changed files are counted, removed ones named", () => {
  const before = step({ files: [['"gone.txt" file 644 1', ...Array.from({ length: 5 }, (_, i) => `"f${i}" file 644 1`)]] });
  const after = step({ files: [Array.from({ length: 5 }, (_, i) => `"f${i}" file 644 2`)] });
  assert.is(explainMiss(before, after, { ignoreCache: false }).message, 'file "f0", file "f1", file "f2" and 3 more changed');
  assert.is(explainMiss(undefined, after, { ignoreCache: false }).message, "no earlier build of this step");
  assert.is(explainMiss(after, after, { ignoreCache: true }).message, "--no-cache");
  assert.is(explainMiss(after, after, { ignoreCache: false }).message, "its cache record is gone (pruned)");
});

test("a miss reason is data: its kind and the files, names or parent it concerns", () => {
  const changedEnv = canonicalJson({ ...RUN, env: ["PATH=/bin", "V=2"] });
  assert.equal(explainMiss(step(), step({ definition: changedEnv }), { ignoreCache: false }), {
    kind: "build-arg-changed",
    names: ["V"],
    message: 'variable "V" changed (build arg or ENV)',
  });
  const parent = explainMiss(step(), step({ inputs: ["sha256:b"] }), { ignoreCache: false });
  assert.is(parent.kind === "parent-changed" && parent.parent, "[1/2] FROM busybox");
  const files = explainMiss(step({ files: [['"a b.txt" file 644 1', '"old" file 644 1']] }), step({ files: [['"a b.txt" file 644 2']] }), { ignoreCache: false });
  assert.equal(files.kind === "file-changed" ? files.files : undefined, [
    { path: "a b.txt", change: "changed" },
    { path: "old", change: "removed" },
  ]);
  assert.is(explainMiss(undefined, step(), { ignoreCache: false }).kind, "no-record");
  assert.is(explainMiss(step(), step(), { ignoreCache: false }).kind, "record-gone");
  assert.is(explainMiss(step(), step(), { ignoreCache: true }).kind, "no-cache");
});

test("cache keys ignore the order of a definition's fields", () => {
  const reordered = Object.fromEntries(Object.entries(RUN).reverse()) as unknown as ExecDefinition;
  assert.is(computeCacheKey(reordered, { inputs: ["x"] }), computeCacheKey(RUN, { inputs: ["x"] }));
  assert.is.not(computeCacheKey(RUN, { inputs: ["x"] }), computeCacheKey(RUN, { inputs: ["y"] }));
  assert.is.not(computeCacheKey(RUN, { inputs: ["x"], checksums: ["1"] }), computeCacheKey(RUN, { inputs: ["x"], checksums: ["2"] }));
});

test.run();
