import { EnvList } from "./env-list.js";
import { baseName, cleanPath, joinPath } from "./container-path.js";
import type { VertexNode } from "./graph-builder.js";
import type { ExecDefinition, ExecMount } from "./graph.js";
import type { RunInstruction } from "./instructions/types.js";
import { parseRunMount, type RunMount } from "./run-mount.js";
import { formatPlatform } from "./platform.js";
import {
  commitHistory,
  currentVertex,
  expandInStage,
  location,
  nameText,
  stepName,
  syntaxError,
  uppercaseKeyword,
  withShell,
  type Command,
  type ConvertContext,
  type StageState,
} from "./stage-state.js";

/** Where BuildKit mounts a heredoc script that starts with `#!`. */
const PIPES_DIR = "/dev/pipes/";

/**
 * RUN: an exec vertex over the stage's file system with the stage's env, cwd and user,
 * its `--mount`s, network and security mode. A heredoc that is the whole command runs as
 * a script (a `#!` body as a file in /dev/pipes, any other body as the shell's command).
 */
export function dispatchRun(ctx: ConvertContext, state: StageState, command: Command): void {
  const run = command.instruction as RunInstruction;
  const range = run.range;
  const fail = (reason: string, hint?: string) => syntaxError(ctx, range, reason, hint ? { hint } : {});
  const root = currentVertex(ctx, state);
  const inputs: VertexNode[] = [root];
  const inputIndex = (node: VertexNode): number => {
    const existing = inputs.indexOf(node);
    if (existing !== -1) return existing;
    inputs.push(node);
    return inputs.length - 1;
  };
  const mounts: ExecMount[] = [{ type: "layer", target: "/", input: 0, selector: "/", readonly: false, output: true }];

  let args = [...run.args];
  let customName = run.node.original;
  if (run.files.length > 0) {
    if (args.length !== 1 || !run.prependShell) throw fail(`parsing produced an invalid run command: [${args.join(" ")}]`);
    if (isSingleHeredocWord(ctx, args[0])) {
      const file = run.files[0];
      const data = file.chomp ? file.data.replace(/^\t+/gm, "") : file.data;
      if (state.image.os !== "windows" && data.startsWith("#!")) {
        // A script with its own interpreter: write it as a file and run that file.
        const script = ctx.graph.add({
          name: "preparing inline document",
          stage: state.displayName || undefined,
          inputs: [ctx.graph.scratch()],
          definition: { op: "file", link: false, actions: [{ action: "mkfile", path: `/${file.name}`, mode: 0o755, data }] },
        });
        mounts.push({ type: "bind", target: PIPES_DIR, input: inputIndex(script), selector: "/", readonly: true, output: false });
        args = [joinPath(PIPES_DIR, file.name)];
      } else {
        // A plain body runs as the shell's command, so shells without heredocs work too.
        args = [data];
      }
      customName += ` (${summarizeHeredoc(file.data)})`;
    } else {
      // Several heredocs, or one inside a longer command: give the shell the whole text back.
      args = [args[0] + run.files.map((file) => `\n${file.data}${file.name}`).join("")];
    }
  }
  if (run.prependShell) args = withShell(state, args);

  const network = run.network ?? ctx.defaultNetwork;
  if (network !== "default" && network !== "none" && network !== "host") {
    throw fail(`unsupported network mode "${network}"`, "Use --network=default, none or host");
  }
  const security = run.security ?? "sandbox";
  if (security !== "sandbox" && security !== "insecure") {
    throw fail(`unsupported security mode "${security}"`, "Use --security=sandbox or insecure");
  }

  const parsedMounts = run.mounts.map((spec) =>
    parseRunMount(spec, {
      location: { file: ctx.file, line: range.start.line, column: range.start.column, endLine: range.end.line },
      expand: (value) => expandInStage(ctx, state, range, value),
    }),
  );
  const secretEnv = new EnvList();
  let sshCount = 0;
  parsedMounts.forEach((mount, i) => {
    if (mount.type === "secret") {
      mounts.push(secretMount(ctx, mount, fail));
      if (mount.env !== undefined) secretEnv.set(mount.env, "****");
      return;
    }
    if (mount.type === "ssh") {
      if (mount.source !== "") throw fail("ssh does not support source");
      const id = mount.id === "" ? "default" : mount.id;
      if (!ctx.ssh.has(id)) ctx.ssh.set(id, mount.required);
      const fileInfo = mount.uid !== undefined || mount.gid !== undefined || mount.mode !== undefined;
      mounts.push({
        type: "ssh",
        target: mount.target === "" ? `/run/buildkit/ssh_agent.${sshCount}` : mount.target,
        id,
        optional: !mount.required,
        uid: mount.uid ?? 0,
        gid: mount.gid ?? 0,
        mode: fileInfo ? (mount.mode ?? 0o600) : 0o600,
      });
      sshCount++;
      return;
    }

    let target = mount.target;
    if (!cleanPath(target).startsWith("/")) target = joinPath("/", state.dir, target);
    if (target === "/") throw fail(`invalid mount target "${target}"`, "Mount somewhere below /");

    if (mount.type === "tmpfs") {
      mounts.push({ type: "tmpfs", target, size: mount.sizeLimit });
      if (mount.from === "") ctx.contextPaths.add(joinPath("/", mount.source));
      return;
    }

    let sourceNode: VertexNode;
    if (mount.from !== "") {
      const source = command.sources[i];
      if (!source || !source.dispatched) {
        throw fail(`cannot mount from stage "${mount.from}" to "${mount.target}", stage needs to be defined before current command`);
      }
      sourceNode = currentVertex(ctx, source);
    } else if (mount.type === "cache") {
      sourceNode = ctx.graph.scratch();
    } else {
      sourceNode = ctx.graph.local("context");
      ctx.contextPaths.add(joinPath("/", mount.source));
    }

    let selector = joinPath("/", mount.source);
    if (selector === "/" && (mount.uid !== undefined || mount.gid !== undefined || mount.mode !== undefined)) {
      // A new cache directory owned as asked: prepare it in a file op and mount that.
      sourceNode = ctx.graph.add({
        name: "[internal] setting cache mount permissions",
        inputs: [sourceNode],
        definition: {
          op: "file",
          link: false,
          actions: [
            { action: "mkdir", path: "/cache", mode: mount.mode ?? 0o755, makeParents: false, chown: `${mount.uid ?? 0}:${mount.gid ?? 0}`, createdTime: undefined },
          ],
        },
        // As in BuildKit, --no-cache makes this directory again, and a cache seeded from a
        // new directory is a new cache: the build starts with an empty one.
        ignoreCache: state.ignoreCache,
      });
      selector = "/cache";
    }

    const input = inputIndex(sourceNode);
    if (mount.type === "cache") {
      mounts.push({
        type: "cache",
        target,
        input,
        selector,
        readonly: mount.readOnly,
        id: mount.id === "" ? cleanPath(mount.target) : mount.id,
        sharing: mount.sharing === "" ? "shared" : mount.sharing,
      });
    } else {
      mounts.push({ type: "bind", target, input, selector, readonly: mount.readOnly, output: false });
    }
  });

  const nameEnv = secretEnv.keys().length === 0 ? state.env : maskedEnv(state.env, secretEnv);
  const name = stepName(state, uppercaseKeyword(nameText(ctx, customName, nameEnv, { rawQuotes: true, skipUnsetEnv: true })));
  const env = state.env.toStrings();
  // BuildKit's ExecOp: the first ssh mount's socket is the agent, unless the stage chose one.
  const firstSsh = mounts.find((mount) => mount.type === "ssh");
  if (firstSsh !== undefined && state.env.get("SSH_AUTH_SOCK") === undefined) env.push(`SSH_AUTH_SOCK=${firstSsh.target}`);
  const definition: ExecDefinition = {
    op: "exec",
    args,
    env,
    cwd: state.dir === "" ? "/" : state.dir,
    user: state.user,
    network,
    security,
    platform: formatPlatform(state.platform ?? ctx.targetPlatform),
    mounts,
    // As BuildKit (llb.Hostname), set only when asked, so other RUN digests stay as they were.
    ...(Object.hasOwn(ctx.buildArgs, "BUILDKIT_SANDBOX_HOSTNAME") ? { hostname: ctx.buildArgs.BUILDKIT_SANDBOX_HOSTNAME } : {}),
  };
  state.vertex = ctx.graph.add({
    name,
    stage: state.displayName || undefined,
    location: location(ctx, range),
    inputs,
    definition,
    proxyEnv: ctx.proxyEnv,
    ignoreCache: state.ignoreCache,
  });
  commitHistory(state, `RUN ${runCommandString(args, state)}`, { layer: true, buildkit: true });
}

function secretMount(ctx: ConvertContext, mount: RunMount, fail: (reason: string) => Error): ExecMount {
  let id = mount.source !== "" ? mount.source : mount.id;
  if (id === "") {
    if (mount.target === "") throw fail("one of source, target required");
    id = baseName(mount.target);
  }
  let target: string | undefined = mount.target === "" ? undefined : mount.target;
  if (mount.env === undefined) target = mount.target === "" ? `/run/secrets/${baseName(id)}` : mount.target;
  if (!ctx.secrets.has(id)) ctx.secrets.set(id, mount.required);
  const fileInfo = mount.uid !== undefined || mount.gid !== undefined || mount.mode !== undefined;
  return {
    type: "secret",
    target,
    id,
    env: mount.env,
    optional: !mount.required,
    uid: mount.uid ?? 0,
    gid: mount.gid ?? 0,
    mode: fileInfo ? (mount.mode ?? 0o400) : 0o400,
  };
}

function maskedEnv(env: EnvList, secrets: EnvList): EnvList {
  const out = env.clone();
  for (const key of secrets.keys()) out.set(key, secrets.get(key) ?? "");
  return out;
}

/** Is the whole command one heredoc word (`<<EOF`, `<<-"EOF"`), as BuildKit's ParseHeredoc decides? */
function isSingleHeredocWord(ctx: ConvertContext, command: string): boolean {
  const match = /^(\d*)<<(-?)\s*([^<]*)$/.exec(command);
  if (!match || match[3] === "") return false;
  try {
    return ctx.expander.withEscapeToken("\\").words(match[3], new EnvList(), { skipUnsetEnv: true }).length === 1;
  } catch {
    return false;
  }
}

/** The first line of a heredoc body, with `...` when there is more. */
function summarizeHeredoc(body: string): string {
  const lines = body.trim().replaceAll("\r\n", "\n").split("\n");
  return lines.length > 1 ? `${lines[0]}...` : lines[0];
}

/**
 * BuildKit's history text for RUN: the command, preceded by `|N K=V ...` when the stage
 * declared build args (values as the RUN sees them, so ENV overrides show).
 */
function runCommandString(args: string[], state: StageState): string {
  const entries: string[] = [];
  const indexOf = new Map<string, number>();
  for (const arg of state.buildArgs) {
    const value = state.env.get(arg.key) ?? arg.value ?? "";
    const existing = indexOf.get(arg.key);
    if (existing !== undefined) entries[existing] = `${arg.key}=${value}`;
    else {
      indexOf.set(arg.key, entries.length);
      entries.push(`${arg.key}=${value}`);
    }
  }
  const prefix = entries.length > 0 ? [`|${entries.length}`, ...entries] : [];
  return [...prefix, ...args].join(" ");
}
