import { openContainerRuntime } from "../executor/container-runtime.js";
import type { ContainerConfig } from "../oci/image-types.js";
import { resolveImage } from "../worker/resolve-image.js";
import { commitImage, type CommitImageResult } from "../worker/commit-image.js";
import type { Worker } from "../worker/worker.js";
import { applyCommitChanges } from "./apply-commit-changes.js";
import { findContainer } from "./container-record.js";
import { containerState } from "./container-state.js";

export interface CommitContainerOptions {
  /** `REPO[:TAG]`; without it the image is dangling. */
  name?: string;
  /** The history entry's comment (docker's -m). */
  message?: string;
  /** The image's author (docker's -a). */
  author?: string;
  /** Dockerfile instructions applied to the config (docker's -c). */
  changes?: string[];
  /** Freeze a running container while its layer is read (default true; needs cgroups, skipped without). */
  pause?: boolean;
}

/**
 * docker's `commit`: the container's writable layer (against its init layer, so mount
 * points, /etc/hosts and friends stay out; volumes and binds never reach it) becomes a
 * new layer over the image's. The config is the container's own (command, Env, WorkingDir,
 * User), with the changes applied. The container stays as it is and may go on running.
 *
 * @example
 * const { id } = await commitContainer(worker, "web", { name: "web:v2", message: "add index", author: "me" });
 */
export async function commitContainer(worker: Worker, text: string, options: CommitContainerOptions = {}): Promise<CommitImageResult> {
  const record = await findContainer(worker, text);
  const image = await resolveImage(worker.store, record.imageId);
  const base = image.config.config ?? {};
  const config: ContainerConfig = {
    ...base,
    Env: record.env,
    Cmd: record.cmd,
    Entrypoint: record.entrypoint.length > 0 ? record.entrypoint : null,
    WorkingDir: record.cwd === "/" && base.WorkingDir === undefined ? "" : record.cwd,
    User: record.user,
  };
  if (config.WorkingDir === "") delete config.WorkingDir;
  if (config.User === "") delete config.User;
  if (config.Entrypoint === null && base.Entrypoint === undefined) delete config.Entrypoint;
  const { runtime } = await openContainerRuntime(worker.root);
  const paused = options.pause !== false && (await containerState(record, { root: worker.root, runtime })).running && (await runtime.exec(["pause", record.runtimeId])).code === 0;
  try {
    return await commitImage(worker, {
      activeSnapshotKey: record.snapshotKey,
      snapshotParent: record.initKey,
      parentImage: record.imageId,
      config: applyCommitChanges(config, options.changes ?? []),
      history: {
        createdBy: record.args.join(" "),
        ...(options.message === undefined ? {} : { comment: options.message }),
        ...(options.author === undefined ? {} : { author: options.author }),
      },
      ...(options.name === undefined ? {} : { name: options.name }),
    });
  } finally {
    if (paused) await runtime.exec(["resume", record.runtimeId]);
  }
}
