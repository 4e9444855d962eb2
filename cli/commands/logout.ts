import { logout } from "../../registry/login.js";
import type { Command } from "../command.js";

export const logoutCommand: Command = {
  name: "logout",
  summary: "Forget the login to a registry",
  usage: "logout [SERVER]",
  description: "Removes the credentials `tsbuild login` (or docker) stored for SERVER; Docker Hub by default.",
  options: [],
  positionals: { min: 0, max: 1 },
  async run(context) {
    const server = context.positionals[0] ?? "docker.io";
    const { removed } = await logout(server, { dockerConfig: { env: context.env } });
    context.stdout.write(removed ? `Removing login credentials for ${server}\n` : `Not logged in to ${server}\n`);
    return 0;
  },
};
