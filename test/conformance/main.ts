// `npm run conformance -- DIR...`: checks the parser and the shell-word expander against
// conformance data. A DIR may be the shared conformance root (BuildKit fixtures, restated
// Go-test facts, generated edge cases), a corpus of `*.Dockerfile` files with `expected/`
// dumps, or any directory in BuildKit's testfiles layout (`<case>/Dockerfile` + `<case>/result`).
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { CaseResult } from "./case-result.js";
import { runInstructionsConformance } from "./instructions-suite.js";
import { runLexerConformance } from "./lexer-suite.js";
import { runCorpusConformance, runParserConformance, runTestfilesConformance } from "./parser-suite.js";

async function checkDirectory(dir: string): Promise<CaseResult[]> {
  if (existsSync(join(dir, "buildkit")) || existsSync(join(dir, "generated"))) {
    return [...(await runParserConformance(dir)), ...(await runLexerConformance(dir)), ...(await runInstructionsConformance(dir))];
  }
  if (readdirSync(dir).some((name) => name.endsWith(".Dockerfile")) && existsSync(join(dir, "expected"))) {
    return runCorpusConformance(dir);
  }
  return runTestfilesConformance(dir);
}

async function main(dirs: string[]): Promise<number> {
  if (dirs.length === 0) {
    process.stderr.write("usage: npm run conformance -- DIR [DIR...]\n");
    return 64;
  }
  let passed = 0;
  let failed = 0;
  for (const dir of dirs.map((d) => resolve(d))) {
    if (!existsSync(dir)) {
      process.stderr.write(`error: no such directory: ${dir}\n`);
      return 66;
    }
    const results = await checkDirectory(dir);
    const bad = results.filter((r) => !r.ok);
    for (const result of bad) process.stdout.write(`FAIL ${result.id}${result.detail ? `: ${result.detail}` : ""}\n`);
    process.stdout.write(`${dir}: ${results.length - bad.length} of ${results.length} cases pass\n`);
    passed += results.length - bad.length;
    failed += bad.length;
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
