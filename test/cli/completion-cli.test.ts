import { spawnSync } from "node:child_process";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAIN } from "../container/container-fixture.js";
import { runTsbuild } from "./run-tsbuild.js";

/**
 * A temp dir with the generated scripts, a `tsbuild` on PATH (the completion asks it for
 * image names) and a root holding one image.
 */
async function withCompletion(fn: (dir: string, env: NodeJS.ProcessEnv) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-completion-"));
  try {
    await mkdir(join(dir, "bin"));
    await writeFile(join(dir, "bin", "tsbuild"), `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
    await chmod(join(dir, "bin", "tsbuild"), 0o755);
    for (const shell of ["bash", "zsh"]) {
      const script = await runTsbuild(["completion", shell], dir);
      assert.is(script.status, 0, script.stderr);
      await writeFile(join(dir, `completion.${shell}`), script.stdout);
    }
    await mkdir(join(dir, "ctx"));
    await writeFile(join(dir, "ctx", "Dockerfile"), "FROM scratch\nWORKDIR /app\n");
    const built = await runTsbuild(["build", "-q", "-t", "app:1", "--root", join(dir, "root"), join(dir, "ctx")], dir);
    assert.is(built.status, 0, built.stderr);
    await fn(dir, { ...process.env, PATH: `${join(dir, "bin")}:${process.env.PATH ?? ""}` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("bash: commands, subcommands, flags, flag values, files and image names, from the command metadata", async () => {
  await withCompletion(async (dir, env) => {
    // Each line is completed as bash would on TAB: COMP_LINE up to the cursor.
    const complete = (line: string) => {
      const driver = `source ${dir}/completion.bash\nCOMP_LINE=${JSON.stringify(line)}; COMP_POINT=\${#COMP_LINE}; _tsbuild; printf '%s\\n' "\${COMPREPLY[@]}"`;
      const result = spawnSync("bash", ["-c", driver], { encoding: "utf8", env, cwd: dir });
      assert.is(result.stderr, "", line);
      return result.stdout.split("\n").filter(Boolean);
    };
    assert.equal(complete("tsbuild ima"), ["images"]);
    assert.ok(complete("tsbuild ").includes("completion"));
    assert.equal(complete("tsbuild debug "), ["parse", "expand"]);
    assert.equal(complete("tsbuild volume p"), ["prune"]);
    assert.equal(complete("tsbuild build --prog"), ["--progress"]);
    assert.equal(complete("tsbuild build --progress "), ["auto", "tty", "plain", "json"]);
    assert.equal(complete("tsbuild --log-level e"), ["error"]);
    assert.equal(complete("tsbuild -D --root root images --filt"), ["--filter"]);
    assert.equal(complete("tsbuild build -f ct"), ["ctx"]);
    assert.equal(complete(`tsbuild --root ${dir}/root rmi a`), ["app:1"]);
    assert.equal(complete(`tsbuild history --root=${dir}/root app:`), ["1"], "bash replaces what follows the colon");
    assert.equal(complete(`tsbuild --root ${dir}/root run -t -e A=1 a`), ["app:1"], "-t takes no value in run; -e does");
  });
});

test("zsh: the same, with summaries; run in zsh with the completion system's functions recording what they are given", async () => {
  await withCompletion(async (dir, env) => {
    const complete = (line: string) => {
      const driver = [
        "compdef() { :; }",
        `source ${dir}/completion.zsh`,
        '_describe() { local name=$4; local -a items; items=("${(@P)name}"); print -rl -- "${items[@]}"; }',
        'compadd() { [[ $1 == -- ]] && shift; print -rl -- "$@"; }',
        '_files() { print -r -- "(files $*)"; }',
        `words=(\${=\${:-${line}}}); ${line.endsWith(" ") ? 'words+=("");' : ""} CURRENT=\${#words}; _tsbuild`,
      ].join("\n");
      const result = spawnSync("zsh", ["-f", "-c", driver], { encoding: "utf8", env, cwd: dir });
      assert.is(result.stderr, "", line);
      return result.stdout.split("\n").filter(Boolean);
    };
    assert.ok(complete("tsbuild ").includes("images:List images"));
    assert.equal(complete("tsbuild debug "), [
      "parse:Print the parsed Dockerfile (BuildKit's dump format, or JSON with source ranges)",
      "expand:Expand a word as a Dockerfile instruction would ($VAR, ${VAR:-x}, quotes)",
    ]);
    assert.equal(complete("tsbuild build --progress "), ["auto", "tty", "plain", "json"]);
    assert.ok(complete("tsbuild ps -").includes("--filter:Only rows that match (status, name, label, ancestor, id, exited)"));
    assert.equal(complete("tsbuild build "), ["(files -/)"]);
    assert.equal(complete(`tsbuild --root ${dir}/root tag `), ["app:1"]);
  });
});

test("completion refuses a shell it does not know", async () => {
  const result = await runTsbuild(["completion", "fish"], tmpdir());
  assert.is(result.status, 125);
  assert.match(result.stderr, /Cannot complete for shell "fish"/);
});

test.run();
