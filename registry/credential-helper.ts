import { spawn } from "node:child_process";
import { TsbuildError } from "../errors.js";

/** A user name and a password (or token), as logins and credential helpers give them. */
export interface Credentials {
  username: string;
  password: string;
}

/**
 * Runs `docker-credential-<helper> <action>` with `input` on standard input (docker's
 * credential helper protocol). Resolves with its standard output; `undefined` when the
 * helper is not installed or has nothing for the server ("credentials not found").
 */
export async function runCredentialHelper(helper: string, request: { action: "get" | "store" | "erase"; input: string }): Promise<string | undefined> {
  const { action, input } = request;
  if (!/^[A-Za-z0-9_.-]+$/.test(helper)) {
    throw new TsbuildError("USAGE", `Invalid credential helper name "${helper}" in the docker config`);
  }
  const program = `docker-credential-${helper}`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
    child.stderr.resume();
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") resolve(undefined);
      else reject(new TsbuildError("SYSTEM", `Cannot run credential helper "${program}": ${error.message}`, { cause: error }));
    });
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      // The helper prints its reason on stdout; "credentials not found" is not a failure. Its
      // output is never put in a message: it may echo a secret.
      else if (/not found/i.test(out) || action === "erase") resolve(undefined);
      else reject(new TsbuildError("SYSTEM", `Credential helper "${program} ${action}" failed with exit status ${code}`));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}

/** The credentials a helper holds for `serverUrl`, if any. */
export async function helperCredentials(helper: string, serverUrl: string): Promise<Credentials | undefined> {
  const out = await runCredentialHelper(helper, { action: "get", input: serverUrl });
  if (out === undefined) return undefined;
  let parsed: { Username?: unknown; Secret?: unknown };
  try {
    parsed = JSON.parse(out) as typeof parsed;
  } catch {
    throw new TsbuildError("SYSTEM", `Credential helper "docker-credential-${helper}" printed something that is not JSON`);
  }
  if (typeof parsed.Username !== "string" || typeof parsed.Secret !== "string") return undefined;
  return { username: parsed.Username, password: parsed.Secret };
}
