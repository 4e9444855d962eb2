import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { withBuildRoot } from "../solver/build-fixture.js";
import { runTsbuild } from "./run-tsbuild.js";

test("tsbuild build --dry-run prints each step CACHED or RUN with why, and builds nothing", async () => {
  await withBuildRoot(async (root) => {
    const context = await root.fixture("multi-stage");
    const store = join(root.dir, "root");
    const first = await runTsbuild(["build", "--root", store, "--progress", "plain", "."], context);
    assert.is(first.status, 0, first.stderr);
    const noop = await runTsbuild(["build", "--root", store, "--dry-run", "."], context);
    assert.is(noop.status, 0, noop.stderr);
    assert.match(noop.stdout, / 0 of \d+ steps would run\n$|^0 of \d+ steps would run\n$|\n0 of \d+ steps would run\n$/);
    assert.not.match(noop.stdout, /^RUN /m);

    const plan = await runTsbuild(["build", "--root", store, "--dry-run", "--build-arg", "NEW=1", "--no-cache", "."], context);
    assert.is(plan.status, 0, plan.stderr);
    assert.match(plan.stdout, /^RUN {5}\[.*\(--no-cache\)$/m);
    const json = await runTsbuild(["build", "--root", store, "--dry-run", "--progress", "json", "--no-cache", "."], context);
    const steps = JSON.parse(json.stdout) as Array<{ status: string; missReason?: { kind: string } }>;
    const running = steps.filter((step) => step.status === "would-run");
    assert.ok(running.length >= 4 && running.every((step) => step.missReason?.kind === "no-cache"), json.stdout);
  });
});

test.run();
