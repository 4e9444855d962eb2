import { attachContainer } from "../../container/attach-container.js";
import { resizeContainer } from "../../container/console-size.js";
import { findContainer } from "../../container/container-record.js";
import type { Command } from "../command.js";
import { openCommandWorker, ROOT_OPTION } from "./open-command-worker.js";

export const attachCommand: Command = {
  name: "attach",
  summary: "Show a running container's output until it stops",
  usage: "attach CONTAINER [--root DIR]",
  description:
    "Prints the container's output from now on and exits with its status when it stops; Ctrl-C leaves it running. " +
    "On a terminal, a -t container's terminal follows this one's size. Its stdin is not attached.",
  options: [ROOT_OPTION],
  positionals: { min: 1, max: 1 },
  async run(context) {
    const worker = await openCommandWorker(context);
    const record = await findContainer(worker, context.positionals[0]);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    const terminal = context.stdout as { isTTY?: boolean; rows?: number; columns?: number };
    const resize = () => {
      if (terminal.rows !== undefined && terminal.columns !== undefined) {
        void resizeContainer(worker, record.id, { rows: terminal.rows, cols: terminal.columns }).catch(() => undefined); // it may have stopped meanwhile
      }
    };
    const follows = record.tty && terminal.isTTY === true;
    if (follows) {
      resize();
      process.on("SIGWINCH", resize);
    }
    try {
      return await attachContainer(worker, context.positionals[0], {
        onOutput: (stream, chunk) => (stream === "stderr" ? context.stderr : context.stdout).write(chunk),
        signal: stop.signal,
      });
    } catch (error) {
      if (stop.signal.aborted) return 0;
      throw error;
    } finally {
      process.off("SIGINT", onSignal);
      if (follows) process.off("SIGWINCH", resize);
    }
  },
};
