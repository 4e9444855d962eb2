import type { CommandEntry } from "./command.js";

/**
 * Every command, with its one-line summary. Modules load only when their command runs,
 * so start-up (and `tsbuild --version`) does not pay for the parser, the store or chalk.
 */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "build",
    summary: "Build an image from a Dockerfile and a context directory",
    load: async () => (await import("./commands/build.js")).buildCommand,
  },
  {
    name: "info",
    summary: "Show the root, the snapshotter and the OCI runtimes this host gives tsbuild",
    load: async () => (await import("./commands/info.js")).infoCommand,
  },
  {
    name: "unshare",
    summary: "Run a command in the rootless user namespace (as its root)",
    load: async () => (await import("./commands/unshare.js")).unshareCommand,
  },
  {
    name: "completion",
    summary: "Print a shell completion script (bash or zsh)",
    load: async () => (await import("./commands/completion.js")).completionCommand,
  },
  {
    name: "debug parse",
    summary: "Print the parsed Dockerfile (BuildKit's dump format, or JSON with source ranges)",
    load: async () => (await import("./commands/debug-parse.js")).debugParseCommand,
  },
  {
    name: "debug expand",
    summary: "Expand a word as a Dockerfile instruction would ($VAR, ${VAR:-x}, quotes)",
    load: async () => (await import("./commands/debug-expand.js")).debugExpandCommand,
  },
  {
    name: "import",
    summary: "Create an image from a root file system tar",
    load: async () => (await import("./commands/import.js")).importCommand,
  },
  {
    name: "load",
    summary: "Load images from a docker-archive or OCI archive",
    load: async () => (await import("./commands/load.js")).loadCommand,
  },
  {
    name: "save",
    summary: "Save images to a docker-archive or OCI archive",
    load: async () => (await import("./commands/save.js")).saveCommand,
  },
  {
    name: "images",
    summary: "List images",
    load: async () => (await import("./commands/images.js")).imagesCommand,
  },
  {
    name: "tag",
    summary: "Give an image another name",
    load: async () => (await import("./commands/tag.js")).tagCommand,
  },
  {
    name: "rmi",
    summary: "Remove images",
    load: async () => (await import("./commands/rmi.js")).rmiCommand,
  },
  {
    name: "inspect",
    summary: "Show images as docker's JSON",
    load: async () => (await import("./commands/inspect.js")).inspectCommand,
  },
  {
    name: "history",
    summary: "Show the history of an image",
    load: async () => (await import("./commands/history.js")).historyCommand,
  },
  {
    name: "prune",
    summary: "Remove dangling images and unused build cache",
    load: async () => (await import("./commands/prune.js")).pruneCommand,
  },
  {
    name: "system df",
    summary: "Show disk usage of images, containers and build cache",
    load: async () => (await import("./commands/system-df.js")).systemDfCommand,
  },
  {
    name: "pull",
    summary: "Download an image from a registry",
    load: async () => (await import("./commands/pull.js")).pullCommand,
  },
  {
    name: "push",
    summary: "Upload an image to a registry",
    load: async () => (await import("./commands/push.js")).pushCommand,
  },
  {
    name: "login",
    summary: "Log in to a registry",
    load: async () => (await import("./commands/login.js")).loginCommand,
  },
  {
    name: "logout",
    summary: "Forget the login to a registry",
    load: async () => (await import("./commands/logout.js")).logoutCommand,
  },
  {
    name: "fsck",
    summary: "Verify every blob, image record and snapshot of the store",
    load: async () => (await import("./commands/fsck.js")).fsckCommand,
  },
  {
    name: "run",
    summary: "Run a command in a new container",
    load: async () => (await import("./commands/run.js")).runCommand,
  },
  {
    name: "ps",
    summary: "List containers",
    load: async () => (await import("./commands/ps.js")).psCommand,
  },
  {
    name: "rm",
    summary: "Remove containers",
    load: async () => (await import("./commands/rm.js")).rmCommand,
  },
  {
    name: "commit",
    summary: "Create a new image from a container's changes",
    load: async () => (await import("./commands/commit.js")).commitCommand,
  },
  {
    name: "diff",
    summary: "Show the changes of a container's file system",
    load: async () => (await import("./commands/diff.js")).diffCommand,
  },
  {
    name: "logs",
    summary: "Show a container's output",
    load: async () => (await import("./commands/logs.js")).logsCommand,
  },
  {
    name: "stop",
    summary: "Stop running containers",
    load: async () => (await import("./commands/stop.js")).stopCommand,
  },
  {
    name: "kill",
    summary: "Send a signal to running containers",
    load: async () => (await import("./commands/kill.js")).killCommand,
  },
  {
    name: "start",
    summary: "Start stopped containers",
    load: async () => (await import("./commands/start.js")).startCommand,
  },
  {
    name: "restart",
    summary: "Restart containers",
    load: async () => (await import("./commands/stop.js")).restartCommand,
  },
  {
    name: "exec",
    summary: "Run a command in a running container",
    load: async () => (await import("./commands/exec.js")).execCommand,
  },
  {
    name: "volume create",
    summary: "Create a named volume",
    load: async () => (await import("./commands/volume.js")).volumeCreateCommand,
  },
  {
    name: "volume ls",
    summary: "List volumes",
    load: async () => (await import("./commands/volume.js")).volumeLsCommand,
  },
  {
    name: "volume inspect",
    summary: "Show volumes as docker's JSON",
    load: async () => (await import("./commands/volume.js")).volumeInspectCommand,
  },
  {
    name: "volume rm",
    summary: "Remove volumes",
    load: async () => (await import("./commands/volume.js")).volumeRmCommand,
  },
  {
    name: "volume prune",
    summary: "Remove unused anonymous volumes",
    load: async () => (await import("./commands/volume.js")).volumePruneCommand,
  },
  {
    name: "port",
    summary: "List a container's published ports",
    load: async () => (await import("./commands/port.js")).portCommand,
  },
  {
    name: "wait",
    summary: "Wait for containers to stop, then print their exit codes",
    load: async () => (await import("./commands/wait.js")).waitCommand,
  },
  {
    name: "attach",
    summary: "Show a running container's output until it stops",
    load: async () => (await import("./commands/attach.js")).attachCommand,
  },
  {
    name: "rename",
    summary: "Rename a container",
    load: async () => (await import("./commands/rename.js")).renameCommand,
  },
  {
    name: "cp",
    summary: "Copy files between a container and the host",
    load: async () => (await import("./commands/cp.js")).cpCommand,
  },
  {
    name: "top",
    summary: "Show the processes of a running container",
    load: async () => (await import("./commands/top.js")).topCommand,
  },
];

/** Finds the longest command name that `argv` starts with (`debug parse` before `debug`). */
export function findCommand(argv: readonly string[]): { entry: CommandEntry; rest: string[] } | undefined {
  let found: { entry: CommandEntry; rest: string[] } | undefined;
  for (const entry of COMMANDS) {
    const words = entry.name.split(" ");
    if (words.every((word, i) => argv[i] === word) && (!found || words.length > found.entry.name.split(" ").length)) {
      found = { entry, rest: argv.slice(words.length) };
    }
  }
  return found;
}
