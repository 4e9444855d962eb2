import { readdir, readFile, readlink } from "node:fs/promises";
import { TsbuildError } from "../errors.js";
import { openContainerRuntime } from "../executor/container-runtime.js";
import type { Worker } from "../worker/worker.js";
import { findContainer } from "./container-record.js";
import { runtimePid } from "./container-state.js";

/** One process of a container, as the host sees it. */
export interface ContainerProcess {
  uid: number;
  pid: number;
  ppid: number;
  command: string;
}

/**
 * docker's `top`: the processes of a running container, found as the host processes in
 * the pid namespace of its init (no cgroup needed, so it works where sandboxes get none).
 */
export async function containerTop(worker: Worker, text: string): Promise<ContainerProcess[]> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  const init = await runtimePid(runtime, record.runtimeId);
  if (init === undefined) throw new TsbuildError("CONFLICT", `Cannot list the processes of container "${text}": it is not running`);
  const namespace = await readlink(`/proc/${init}/ns/pid`);
  const processes: ContainerProcess[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if ((await readlink(`/proc/${name}/ns/pid`)) !== namespace) continue;
      const stat = await readFile(`/proc/${name}/stat`, "utf8");
      const status = await readFile(`/proc/${name}/status`, "utf8");
      const cmdline = (await readFile(`/proc/${name}/cmdline`, "utf8")).split("\0").filter((part) => part !== "").join(" ");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? "0");
      processes.push({ uid, pid: Number(name), ppid: Number(fields[1]), command: cmdline || stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) });
    } catch {
      // the process ended meanwhile
    }
  }
  return processes.sort((a, b) => a.pid - b.pid);
}
