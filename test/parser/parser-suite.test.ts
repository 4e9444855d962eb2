import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCorpusConformance, runParserConformance, runTestfilesConformance } from "../conformance/parser-suite.js";

async function withTempDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-parser-suite-"));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function writeTree(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    await mkdir(join(full, ".."), { recursive: true });
    await writeFile(full, content);
  }
}

test("the testfiles suite passes a matching result and reports a differing one", async () => {
  await withTempDir(async (dir) => {
    await writeTree(dir, {
      "good/Dockerfile": "FROM x\nRUN a \\\n b\n",
      "good/result": '(from "x")\n(run "a  b")\n',
      "bad/Dockerfile": "FROM x\n",
      "bad/result": '(from "y")\n',
    });
    const results = await runTestfilesConformance(dir);
    assert.equal(results.map((r) => [r.id, r.ok]), [["testfiles/bad", false], ["testfiles/good", true]]);
    assert.match(results[0].detail ?? "", 'expected "(from \\"y\\")"');
  });
});

test("the corpus suite checks the dump and the reference AST's lines and heredocs", async () => {
  await withTempDir(async (dir) => {
    const reference = (endLine: number) =>
      JSON.stringify({
        escapeToken: "\\",
        warnings: [],
        rootStartLine: 1,
        rootEndLine: 4,
        children: [
          { value: "FROM", flags: [], json: false, next: ["x"], startLine: 1, endLine: 1 },
          { value: "RUN", flags: [], json: false, next: ["<<EOF"], startLine: 2, endLine, heredocs: [{ name: "EOF", content: "hi\n", expand: true, chomp: false, fileDescriptor: 0 }] },
        ],
      });
    await writeTree(dir, {
      "a.Dockerfile": "FROM x\nRUN <<EOF\nhi\nEOF\n",
      "expected/a.Dockerfile.result": '(from "x")\n(run "<<EOF")\n',
      "expected/a.Dockerfile.ast.json": reference(4),
      "b.Dockerfile": "FROM x\nRUN <<EOF\nhi\nEOF\n",
      "expected/b.Dockerfile.result": '(from "x")\n(run "<<EOF")\n',
      "expected/b.Dockerfile.ast.json": reference(3),
    });
    const results = await runCorpusConformance(dir);
    assert.equal(results.map((r) => [r.id, r.ok]), [["corpus/a.Dockerfile", true], ["corpus/b.Dockerfile", false]]);
  });
});

test("the parser suite reads negative testfiles and generated cases under a conformance root", async () => {
  await withTempDir(async (dir) => {
    await writeTree(dir, {
      "buildkit/parser/testfiles-negative/env/Dockerfile": "FROM x\nENV A\n",
      "buildkit/parser/testfiles-negative/fine/Dockerfile": "FROM x\n",
      "generated/parser-edge-cases.jsonl": [
        JSON.stringify({ id: "ok", dockerfile: "FROM x\n", expect: { dump: '(from "x")\n', rootStartLine: 1, rootEndLine: 1 } }),
        JSON.stringify({ id: "quirky", quirk: true, dockerfile: "FROM x\n", expect: { dump: "nope\n" } }),
        JSON.stringify({ id: "err", dockerfile: "", expect: { error: "file with no instructions" } }),
      ].join("\n"),
    });
    const results = await runParserConformance(dir);
    assert.equal(results.map((r) => [r.id, r.ok]), [
      ["buildkit/parser/testfiles-negative/env", true],
      ["buildkit/parser/testfiles-negative/fine", false],
      ["generated/parser-edge-cases#ok", true],
      ["generated/parser-edge-cases#err", true],
    ]);
  });
});

test.run();
