// Bundles the compiled CLI (dist/cli/tsbuild.js and every module it imports, statically or
// lazily, npm packages included) into one CommonJS script, dist/cli/tsbuild.bundle.cjs,
// and makes V8's code cache for it, which the `tsbuild` command (dist/cli/main.js, from
// cli/main.ts) loads with it. Node resolves, reads and compiles some two hundred modules
// on every start otherwise, and Node 20 has no compile cache. The separate entry points the
// CLI starts (shim, deflate worker, UDP relay child) run from dist/ as compiled.
//
// A script (not a module) because only scripts take a code cache in Node 20; so dynamic
// imports become requires, and the one top-level await of the sources (Chevrotain's
// loader) is replaced by a static import of the same single-file Chevrotain build.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdtemp, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const cliDir = fileURLToPath(new URL("../dist/cli/", import.meta.url));
// Compiled by tsc just before: the names the command reads, from the same module.
const { bundleCacheName, bundleHeader } = await import(new URL("../dist/cli/bundle-script.js", import.meta.url).href);
const { staticBusybox } = await import(new URL("../dist/util/static-busybox.js", import.meta.url).href);
const bundleFile = join(cliDir, "tsbuild.bundle.cjs");
const chevrotainBundle = join(dirname(createRequire(import.meta.url).resolve("chevrotain")), "..", "chevrotain.mjs");

const result = await build({
  entryPoints: [join(cliDir, "tsbuild.js")],
  bundle: true,
  write: false,
  platform: "node",
  format: "cjs",
  target: "node20",
  supported: { "dynamic-import": false },
  // import.meta does not exist in a script; the bundle's own URL stands for it (util/package-file.ts).
  define: { "import.meta.url": "__tsbuild_bundle_url" },
  // Keep names: typed errors and stack traces (--debug) read as in the source.
  keepNames: true,
  // undici (util/http-fetch.ts, only for HTTPS with extra CA certificates) is most of a
  // megabyte that every start would read and hold: it is required from node_modules, when used.
  external: ["undici"],
  logLevel: "warning",
  plugins: [
    {
      name: "chevrotain-static",
      setup(build) {
        build.onLoad({ filter: /[\\/]parser[\\/]chevrotain-runtime\.js$/ }, () => ({
          contents: `export * as chevrotain from ${JSON.stringify(chevrotainBundle)};`,
          loader: "js",
        }));
      },
    },
  ],
});
// The entry's #! line would be a syntax error inside the loader's function wrapper. What is
// not ASCII (in regular expressions and comments esbuild leaves as they are) is written as
// \u escapes, which mean the same there and in strings: an ASCII file is read as latin1,
// ten times quicker than decoding UTF-8.
const code = result.outputFiles[0].text
  .replace(/^#!.*\n/, "")
  .replace(/[^\x00-\x7f]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
const id = createHash("sha256").update(code).digest("hex").slice(0, 16);
// The first line names this build; its cache is named after it. The directive must come
// before any statement for the modules to stay in strict mode, as they were written.
const prologue = `${bundleHeader(id)}"use strict";\nconst __tsbuild_bundle_url = require("node:url").pathToFileURL(__filename).href;\n`;
await writeFile(bundleFile, prologue + code);

// Earlier bundles' caches.
for (const name of await readdir(cliDir)) {
  if (/^tsbuild\.bundle\.[0-9a-f]+\.cache$/.test(name) && name !== bundleCacheName(id)) {
    await rm(join(cliDir, name), { force: true });
  }
}

// The cache: what a build of two stages compiles (parser, frontend, solver, store,
// snapshotter, executor, export, progress) is most of what every build runs; the rest
// compiles lazily as without a cache. Functions compile on first use, so a cache made from
// a dry run left out everything a real step runs: a real build's cache saved 12 ms (2 %) of
// a 3-stage build. Where a real build cannot run here (not root, no runtime, no static
// busybox for a base), a dry run's cache serves.
const work = await mkdtemp(join(tmpdir(), "tsbuild-bundle-"));
try {
  const context = join(work, "context");
  await mkdir(context);
  await writeFile(join(context, "file"), "x\n");
  const busybox = staticBusybox();
  if (busybox !== undefined) await copyFile(busybox, join(context, "busybox"));
  await writeFile(
    join(context, "Dockerfile"),
    "# syntax=docker/dockerfile:1\nFROM scratch AS base\nARG VERSION=1\nENV A=b\nCOPY busybox /bin/busybox\nWORKDIR /app\nCOPY file /app/\n" +
      'RUN --mount=type=cache,target=/cache ["/bin/busybox", "sh", "-c", "echo built > /app/out"]\n' +
      'FROM scratch\nCOPY --from=base /bin/busybox /bin/busybox\nCOPY --from=base /app /copy\nRUN ["/bin/busybox", "true"]\nLABEL version=$VERSION\nUSER 1000\nEXPOSE 80/tcp\nCMD ["true"]\n',
  );
  const cacheFile = join(cliDir, bundleCacheName(id));
  const build = (extra) =>
    spawnSync(process.execPath, [join(cliDir, "main.js"), "build", "--root", join(work, "root"), ...extra, "--progress=plain", context], {
      env: { ...process.env, TSBUILD_WRITE_CODE_CACHE: cacheFile },
      encoding: "utf8",
      // A bound for a build of two small stages on an empty root (a second or two), not a speed expectation.
      timeout: 120_000,
    });
  let run = busybox === undefined ? undefined : build([]);
  if (run === undefined || run.status !== 0) run = build(["--dry-run"]);
  if (run.status !== 0) {
    // Not fatal: the CLI works without a cache, only starts slower.
    await rm(cacheFile, { force: true });
    const why = run.error?.message ?? `it exited with ${run.status}: ${(run.stderr || run.stdout).trim().split("\n").pop()}`;
    process.stderr.write(`bundle-cli: no code cache made (the build failed, ${why})\n`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
