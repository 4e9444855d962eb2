import { readFile } from "node:fs/promises";
import { probeRuntimes } from "../../executor/runtime-probe.js";
import { createSnapshotter } from "../../snapshotter/create-snapshotter.js";
import { resolveRoot } from "../../store/resolve-root.js";
import { describeRootless } from "../../executor/rootless-mode.js";
import type { Command } from "../command.js";
import { packageFile } from "../../util/package-file.js";

export const infoCommand: Command = {
  name: "info",
  summary: "Show the root, the snapshotter and the OCI runtimes this host gives tsbuild",
  usage: "info [--root DIR] [--format text|json]",
  description: "Probes for real: overlayfs by mounting a tiny overlay under the root, each runtime by starting a sandbox.",
  options: [
    { name: "root", type: "string", valueName: "DIR", description: "The store root (default $TSBUILD_ROOT, else /var/lib/tsbuild as root)" },
    { name: "format", type: "string", valueName: "FORMAT", description: "text (default) or json" },
  ],
  positionals: { min: 0, max: 0 },
  async run(context) {
    const root = resolveRoot({ root: context.options.root as string | undefined, env: context.env });
    const pkg = JSON.parse(await readFile(packageFile("package.json"), "utf8")) as { version: string };
    const [snapshotter, runtimes] = await Promise.all([createSnapshotter(root), probeRuntimes()]);
    const defaultRuntime = runtimes.find((r) => r.usable)?.name;
    const info = {
      version: pkg.version,
      root,
      rootless: describeRootless(context.env),
      snapshotter: { name: snapshotter.name, reason: snapshotter.reason },
      runtimes,
      defaultRuntime: defaultRuntime ?? null,
    };
    if (context.options.format === "json") {
      context.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `tsbuild ${info.version}`,
      `Root:            ${root}`,
      `Rootless:        ${info.rootless === null ? "no" : `yes, as uid ${info.rootless.uid} (${info.rootless.ids}); runtime state in ${info.rootless.runtimeDir}`}`,
      `Snapshotter:     ${snapshotter.name} (${snapshotter.reason})`,
      "Runtimes:",
      ...runtimes.map((r) => {
        const where = r.path ? ` ${r.version ?? ""} (${r.path})` : "";
        const state = r.usable
          ? `usable${r.hybridWrapper ? " through the hybrid-cgroup wrapper" : ""}${r.cgroups ? "" : ", without cgroups (no resource limits)"}`
          : `not usable: ${r.reason ?? "unknown"}`;
        return `  ${r.name}${where}: ${state}`;
      }),
      `Default runtime: ${defaultRuntime ?? "none (install runc: apt-get install runc)"}`,
    ];
    context.stdout.write(`${lines.join("\n")}\n`);
    return defaultRuntime ? 0 : 1;
  },
};
