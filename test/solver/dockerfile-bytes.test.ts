import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "../../build/build.js";
import { withBuildRoot } from "./build-fixture.js";

test("Dockerfile bytes that are not UTF-8: kept in a quoted heredoc's file, U+FFFD where BuildKit's Go code makes them so", async () => {
  await withBuildRoot(async (root) => {
    const context = join(root.dir, "ctx");
    await mkdir(context);
    const dockerfile = Buffer.concat([
      Buffer.from("FROM busybox AS build\nCOPY <<'EOF' /raw\na"),
      Buffer.from([0xff, 0xe9]),
      Buffer.from("b\nEOF\nLABEL k=v"),
      Buffer.from([0xe9]),
      Buffer.from("\nRUN printf '%s' 'x"),
      Buffer.from([0xff]),
      Buffer.from("' > /run-arg\nFROM scratch\nCOPY --from=build /raw /run-arg /\n"),
    ]);
    await writeFile(join(context, "Dockerfile"), dockerfile);
    const out = join(root.dir, "out");
    const result = await build({ context, worker: root.worker, output: { type: "local", dest: out } });
    assert.equal([...(await readFile(join(out, "raw")))], [...Buffer.from("a\xff\xe9b\n", "latin1")], "a quoted heredoc's bytes are written as they are");
    // LABEL values are expanded by the shell lexer, which reads a bad byte as U+FFFD (Go's text/scanner).
    const base = await build({ context, worker: root.worker, target: "build" });
    assert.is(base.config.config?.Labels?.k, "v\ufffd");
    // RUN's argv reaches runc as JSON, which (Go's encoding/json) carries a bad byte as U+FFFD.
    assert.is(await readFile(join(out, "run-arg"), "utf8"), "x\ufffd");
    assert.ok(result.imageId.startsWith("sha256:"));
  });
});

test.run();
