import { openContainerRuntime } from "../executor/container-runtime.js";
import type { Worker } from "../worker/worker.js";
import { containerPaths, findContainer } from "./container-record.js";
import { containerState, runtimePid } from "./container-state.js";
import { containerVolumePath } from "./create-container.js";
import { readHealth, type HealthState } from "./health-check.js";
import type { PortBinding } from "./port-bindings.js";

/** A container as docker's `inspect` shows one (the fields tsbuild has). */
export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: {
    Status: string;
    Running: boolean;
    Paused: boolean;
    Pid: number;
    ExitCode: number;
    Error: string;
    StartedAt: string;
    FinishedAt: string;
    Restarting: boolean;
    /** With a health check only. */
    Health?: HealthState;
  };
  RestartCount: number;
  Image: string;
  Name: string;
  LogPath: string;
  Mounts: Array<{ Type: string; Name?: string; Source: string; Destination: string; RW: boolean }>;
  Config: {
    Hostname: string;
    User: string;
    Env: string[];
    Cmd: string[];
    Entrypoint: string[] | null;
    Image: string;
    WorkingDir: string;
    Tty: boolean;
    OpenStdin: boolean;
  };
  HostConfig: {
    NetworkMode: string;
    AutoRemove: boolean;
    Binds: string[];
    RestartPolicy: { Name: string; MaximumRetryCount: number };
    PortBindings: PortMap;
    ExtraHosts: string[];
    Dns: string[];
  };
  /** Ports as published while it runs. */
  NetworkSettings: { Ports: PortMap };
  GraphDriver: { Name: string; Data: { MergedDir: string } };
}

/** docker's port map: `"80/tcp": [{ HostIp, HostPort }]`. */
export type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }>>;

const ZERO_TIME = "0001-01-01T00:00:00Z";

/** docker shows a host port to be picked as "". */
function portMap(bindings: readonly PortBinding[]): PortMap {
  const map: PortMap = {};
  for (const binding of bindings) {
    const key = `${binding.containerPort}/${binding.protocol}`;
    (map[key] ??= []).push({ HostIp: binding.hostIp, HostPort: binding.hostPort === 0 ? "" : String(binding.hostPort) });
  }
  return map;
}

/** docker's `inspect` of a container, with its true state (and the init's host pid while it runs). */
export async function inspectContainer(worker: Worker, text: string): Promise<ContainerInspect> {
  const record = await findContainer(worker, text);
  const { runtime } = await openContainerRuntime(worker.root);
  const state = await containerState(record, { root: worker.root, runtime });
  const paths = containerPaths(worker.root, record.id);
  const health = record.healthcheck === undefined ? undefined : await readHealth(paths);
  return {
    Id: record.id,
    Created: record.created,
    Path: record.args[0],
    Args: record.args.slice(1),
    State: {
      Status: state.status,
      Running: state.running,
      Paused: false,
      Pid: state.running ? ((await runtimePid(runtime, record.runtimeId)) ?? 0) : 0,
      ExitCode: state.exitCode ?? (state.status === "exited" ? -1 : 0),
      Error: state.error ?? "",
      StartedAt: state.startedAt ?? ZERO_TIME,
      FinishedAt: state.finishedAt ?? ZERO_TIME,
      Restarting: state.restarting,
      ...(health === undefined ? {} : { Health: health }),
    },
    RestartCount: state.restartCount,
    Image: record.imageId,
    Name: `/${record.name}`,
    LogPath: paths.log,
    Mounts: record.mounts.map((mount) =>
      mount.type === "volume"
        ? { Type: "volume", Name: mount.source, Source: containerVolumePath(worker.root, mount.source), Destination: mount.target, RW: !mount.readonly }
        : { Type: "bind", Source: mount.source, Destination: mount.target, RW: !mount.readonly },
    ),
    Config: {
      Hostname: record.hostname,
      User: record.user,
      Env: record.env,
      Cmd: record.cmd,
      Entrypoint: record.entrypoint.length > 0 ? record.entrypoint : null,
      Image: record.image,
      WorkingDir: record.cwd,
      Tty: record.tty,
      OpenStdin: record.interactive,
    },
    HostConfig: {
      NetworkMode: record.network,
      AutoRemove: record.autoRemove,
      Binds: record.mounts.filter((mount) => mount.type === "bind").map((mount) => `${mount.source}:${mount.target}${mount.readonly ? ":ro" : ""}`),
      RestartPolicy: { Name: record.restartPolicy?.name ?? "no", MaximumRetryCount: record.restartPolicy?.maximumRetryCount ?? 0 },
      PortBindings: portMap(record.ports ?? []),
      ExtraHosts: (record.extraHosts ?? []).map(({ host, ip }) => `${host}:${ip}`),
      Dns: record.dns ?? [],
    },
    NetworkSettings: { Ports: portMap(state.ports) },
    GraphDriver: { Name: (await worker.snapshotter()).name, Data: { MergedDir: paths.rootfs } },
  };
}
