#!/usr/bin/env node
// The tsbuild entry point. It imports nothing up front: `--version` answers from
// package.json alone, and every other command loads only the modules it needs.
const argv = process.argv.slice(2);

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
