import { TsbuildError } from "../../errors.js";
import { openContainerRuntime } from "../../executor/container-runtime.js";
import { findContainer } from "../../container/container-record.js";
import { containerState } from "../../container/container-state.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const portCommand: Command = {
  name: "port",
  summary: "List a container's published ports",
  usage: "port CONTAINER [PORT[/PROTO]] [--root DIR]",
  description: "Each published port as `80/tcp -> 0.0.0.0:8080`, or the host addresses of one port. Ports are published while the container runs.",
  options: [ROOT_OPTION],
  positionals: { min: 1, max: 2 },
  async run(context) {
    const [name, wanted] = context.positionals;
    const match = wanted === undefined ? undefined : /^(\d+)(?:\/(tcp|udp))?$/.exec(wanted);
    if (wanted !== undefined && match === null) throw new TsbuildError("USAGE", `Cannot parse port "${wanted}": use PORT or PORT/tcp|udp`);
    const worker = await openCommandWorker(context);
    const record = await findContainer(worker, name);
    const { runtime } = await openContainerRuntime(worker.root);
    const { ports } = await containerState(record, { root: worker.root, runtime });
    if (match === undefined || match === null) {
      for (const port of ports) context.stdout.write(`${port.containerPort}/${port.protocol} -> ${port.hostIp}:${port.hostPort}\n`);
      return 0;
    }
    const protocol = match[2] ?? "tcp";
    const found = ports.filter((port) => String(port.containerPort) === match[1] && port.protocol === protocol);
    if (found.length === 0) throw new TsbuildError("NOT_FOUND", `No public port "${match[1]}/${protocol}" published for container "${name}"`);
    for (const port of found) context.stdout.write(`${port.hostIp}:${port.hostPort}\n`);
    return 0;
  },
};
