import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { repoRoot } from "./helpers/repo-root.js";

const run = promisify(execFile);

/** The `ts` block of a README section. */
function codeBlock(readme: string, heading: string): string {
  const section = readme.slice(readme.indexOf(`${heading}\n`));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error(`No ts block under "${heading}"`);
  return match[1];
}

test("the README's API program compiles, strict, against the packed package", async () => {
  const repo = repoRoot();
  const dir = await mkdtemp(join(tmpdir(), "tsb-readme-"));
  try {
    // What `npm install tsbuild` would give: the packed files, with the dependencies beside them.
    const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", dir], { cwd: repo });
    const tarball = join(dir, stdout.trim().split("\n").pop()!);
    const installed = join(dir, "app", "node_modules", "tsbuild");
    await mkdir(installed, { recursive: true });
    await run("tar", ["-xzf", tarball, "-C", installed, "--strip-components=1"]);
    assert.not.ok((await readdir(join(installed, "dist"))).includes("test"), "tests are not packed");
    const pkg = JSON.parse(await readFile(join(repo, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const dep of [...Object.keys(pkg.dependencies), "@types"]) {
      await mkdir(join(dir, "app", "node_modules", ...dep.split("/").slice(0, -1)), { recursive: true });
      await symlink(join(repo, "node_modules", dep), join(dir, "app", "node_modules", dep));
    }
    await writeFile(join(dir, "app", "package.json"), JSON.stringify({ type: "module", private: true }));
    const tsconfig = { compilerOptions: { strict: true, noEmit: true, target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", types: ["node"], skipLibCheck: false }, files: ["example.ts"] };
    await writeFile(join(dir, "app", "tsconfig.json"), JSON.stringify(tsconfig));
    await writeFile(join(dir, "app", "example.ts"), codeBlock(await readFile(join(repo, "README.md"), "utf8"), "## API"));
    const compiled = await run(process.execPath, [join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", join(dir, "app")]).then(
      () => "",
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    assert.is(compiled, "", "tsc reports nothing");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
