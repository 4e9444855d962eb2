import { spawn, spawnSync, type ChildProcess } from "node:child_process";

/**
 * A network namespace made by the test that plays "the host with the outside world": tsbuild
 * runs in it (through `nsenter`), so a sandbox's outbound traffic leaves through it and
 * reaches a server on its own non-loopback address, and never the real host's network.
 */
export interface OutsideNetwork {
  /** Prefix a command with these words to run it in the namespace. */
  nsenter: string[];
  /** The namespace's own non-loopback address, where the server listens. */
  address: string;
  /** The server's TCP port; it answers every connection with `OUTSIDE_GREETING` and closes it. */
  port: number;
}

export const OUTSIDE_GREETING = "hello from outside";

const ADDRESS = "10.213.0.1";
const READY_TIMEOUT_MS = 60_000;

/**
 * Runs `fn` with a namespace of its own: `lo` up with `ADDRESS` on it too (a local address
 * that is not loopback's 127/8), and a TCP server on `ADDRESS`. Everything ends afterwards:
 * the server and the namespace's holder are stopped by pid.
 */
export async function withOutsideNetwork<T>(fn: (outside: OutsideNetwork) => Promise<T>): Promise<T> {
  const holder = spawn("unshare", ["--net", "--", "sh", "-c", "echo ready; read _"], { stdio: ["pipe", "pipe", "inherit"] });
  try {
    await firstLine(holder, /^ready$/);
    const nsenter = ["nsenter", `--net=/proc/${holder.pid}/ns/net`, "--"];
    const configured = spawnSync(nsenter[0], [...nsenter.slice(1), "sh", "-c", `ip link set lo up && ip addr add ${ADDRESS}/32 dev lo`], { encoding: "utf8" });
    if (configured.status !== 0) throw new Error(`Cannot configure the outside namespace: ${configured.stderr}`);
    return await withGreeter({ prefix: nsenter, address: ADDRESS, greeting: OUTSIDE_GREETING }, (port) => fn({ nsenter, address: ADDRESS, port }));
  } finally {
    holder.stdin?.destroy();
  }
}

/** A TCP server on the real host's 127.0.0.1 answering `greeting`, in a process of its own (tests block in spawnSync). */
export function withLoopbackServer<T>(greeting: string, fn: (port: number) => Promise<T>): Promise<T> {
  return withGreeter({ prefix: [], address: "127.0.0.1", greeting }, fn);
}

/** Runs a node process (after `prefix`) that answers every connection on `address` with `greeting`; killed by pid afterwards. */
async function withGreeter<T>(options: { prefix: string[]; address: string; greeting: string }, fn: (port: number) => Promise<T>): Promise<T> {
  const script = `const s=require("net").createServer(c=>c.end(${JSON.stringify(options.greeting + "\n")}));s.listen(0,${JSON.stringify(options.address)},()=>process.stdout.write(s.address().port+"\\n"))`;
  const [file, ...args] = [...options.prefix, process.execPath, "-e", script];
  const server = spawn(file, args, { stdio: ["ignore", "pipe", "inherit"] });
  try {
    return await fn(Number(await firstLine(server, /^\d+$/)));
  } finally {
    if (server.exitCode === null) server.kill("SIGKILL");
  }
}

/** The first line of `child`'s stdout that matches `pattern`; rejects when it ends first. */
function firstLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`No line matching ${pattern} within ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    child.stdout!.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const line = text.split("\n").find((candidate) => pattern.test(candidate));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${String(child.spawnargs.join(" "))} exited with ${code} before printing ${pattern}`));
    });
  });
}
