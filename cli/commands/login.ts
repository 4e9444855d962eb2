import { TsbuildError } from "../../errors.js";
import { login } from "../../registry/login.js";
import type { Command } from "../command.js";
import { INSECURE_REGISTRY_OPTION, registryAccess } from "./registry-flags.js";

export const loginCommand: Command = {
  name: "login",
  summary: "Log in to a registry",
  usage: "login -u USER [--password-stdin | -p PASSWORD] [SERVER]",
  description: "Checks the credentials with the registry, then stores them as docker does (config.json in $DOCKER_CONFIG or ~/.docker, or its credential helper). SERVER defaults to Docker Hub.",
  options: [
    { name: "username", short: "u", type: "string", valueName: "USER", description: "The user name" },
    { name: "password", short: "p", type: "string", valueName: "PASSWORD", description: "The password (visible to other users of this host: prefer --password-stdin)" },
    { name: "password-stdin", type: "boolean", description: "Read the password from standard input" },
    INSECURE_REGISTRY_OPTION,
  ],
  positionals: { min: 0, max: 1 },
  async run(context) {
    const server = context.positionals[0] ?? "docker.io";
    const username = context.options.username as string | undefined;
    if (username === undefined || username === "") {
      throw new TsbuildError("USAGE", "Cannot log in: no user name", { hint: "Give one with -u USER" });
    }
    let password = context.options.password as string | undefined;
    if (context.options["password-stdin"] === true) {
      if (password !== undefined) throw new TsbuildError("USAGE", "Cannot use --password and --password-stdin together");
      const chunks: Buffer[] = [];
      for await (const chunk of context.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
      password = Buffer.concat(chunks).toString("utf8").replace(/\r?\n$/, "");
    } else if (password === undefined) {
      throw new TsbuildError("USAGE", "Cannot log in: no password", { hint: "Pipe it in with --password-stdin" });
    } else {
      context.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    }
    const { insecureRegistries, dockerConfig } = registryAccess(context);
    await login(server, { username, password }, { insecureRegistries, dockerConfig });
    context.stdout.write("Login Succeeded\n");
    return 0;
  },
};
