// Ported from moby/buildkit frontend/dockerfile/dockerfile_namedcontext_test.go (73ed6825).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { buildLocal, makeContext, portedSuite } from "./ported.js";

const { test, root } = portedSuite("BuildKit dockerfile_namedcontext_test.go");

test("testNamedLocalContext: a local directory replaces a stage, with its own .dockerignore", async () => {
  const base = await makeContext(root(), { out: "dummy-result", out2: "dummy-result", ".dockerignore": "out2\n" });
  const { out } = await buildLocal(
    root(),
    { Dockerfile: "FROM busybox AS base\nRUN cat /etc/alpine-release > /out\nFROM scratch\nCOPY --from=base /o* /\n" },
    { contexts: { base } },
  );
  assert.ok((await readFile(join(out, "out"))).length > 0);
  assert.not.ok(await readFile(join(out, "out2")).catch(() => undefined), "out2 is excluded by the named context's .dockerignore");
});

test.run();
