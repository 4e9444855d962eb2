#!/usr/bin/env node
// The tsbuild command, as compiled. It imports nothing up front: `--version` answers from
// package.json alone, and every other command loads only the modules it needs. The
// installed command (dist/cli/main.js, cli/main.ts) runs this file's one-file bundle;
// no top-level await here, so that bundle can be a script V8 caches the compiled code of.
async function main(argv: string[]): Promise<void> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v" || argv[0] === "version")) {
    const { readFileSync } = await import("node:fs");
    const pkg = JSON.parse(readFileSync((await import("../util/package-file.js")).packageFile("package.json"), "utf8")) as { version: string };
    process.stdout.write(`tsbuild ${pkg.version}\n`);
  } else if ((process.geteuid?.() ?? 0) !== 0 && process.env.TSBUILD_ROOTLESS === undefined && (await import("./rootless-reexec.js")).needsUserNamespace(argv)) {
    // An ordinary user: the command runs again, as root in the user's namespace (README: Rootless).
    const { runInUserNamespace } = await import("./rootless-reexec.js");
    process.exitCode = await runInUserNamespace(argv);
  } else {
    // Crash tests only: see util/crash-point.ts. Nothing is loaded for it otherwise.
    const crash = process.env.TSBUILD_CRASH_AT === undefined ? undefined : await import("../util/crash-point.js");
    crash?.armCrashPoints();
    const { runCli } = await import("./run-cli.js");
    process.exitCode = await runCli(argv);
    crash?.crashAtExit();
  }
}

// A rejection is an unhandled one: Node prints it and exits with 1, as it would after a
// top-level await.
void main(process.argv.slice(2));

export {};
