import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Executor, type ExecutorOptions } from "../../executor/executor.js";
import type { RuntimeName } from "../../executor/oci-runtime.js";
import type { ExecProcess, ExecRunOptions } from "../../executor/types.js";
import { makeBusyboxRootfs, type BusyboxRootfsOptions } from "../helpers/busybox-rootfs.js";

export interface Sandbox {
  executor: Executor;
  /** A fresh busybox rootfs. */
  rootfs: string;
  /** The executor's tsbuild root. */
  root: string;
  /** The temp dir holding both, removed afterwards. */
  dir: string;
}

export interface WithSandboxOptions {
  rootfs?: BusyboxRootfsOptions;
  executor?: Partial<ExecutorOptions>;
}

/** Runs `fn` with an executor for `runtime` over a fresh busybox rootfs; removes it all afterwards. */
export async function withSandbox<T>(runtime: RuntimeName, fn: (sandbox: Sandbox) => Promise<T>, options: WithSandboxOptions = {}): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-exec-test-"));
  try {
    const rootfs = join(dir, "rootfs");
    const root = join(dir, "root");
    await makeBusyboxRootfs(rootfs, options.rootfs);
    const executor = await Executor.create({ root, runtime, ...options.executor });
    try {
      return await fn({ executor, rootfs, root, dir });
    } finally {
      await executor.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface Captured {
  stdout: string;
  stderr: string;
}

/** Runs `script` with /bin/sh -c and returns what it printed. */
export async function runScript(sandbox: Sandbox, script: string, proc: Partial<ExecProcess> = {}, options: ExecRunOptions = {}): Promise<Captured> {
  const out: Captured = { stdout: "", stderr: "" };
  await sandbox.executor.run(sandbox.rootfs, { args: ["/bin/sh", "-c", script], ...proc }, {
    ...options,
    onOutput: (stream, chunk) => {
      out[stream] += chunk.toString("utf8");
      options.onOutput?.(stream, chunk);
    },
  });
  return out;
}

/** The runtimes every isolation test runs under. */
export const RUNTIMES: readonly RuntimeName[] = ["runc", "crun"];

/** Every path under `dir` (relative, sorted) with its type and, for files, size: a rootfs's shape. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const entry of entries) {
      const path = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        out.push(`${path}/`);
        await walk(path);
      } else if (entry.isFile()) {
        out.push(`${path} (${(await stat(join(dir, path))).size})`);
      } else {
        out.push(path);
      }
    }
  };
  await walk("");
  return out.sort();
}
