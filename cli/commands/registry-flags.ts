import type { CommandContext, OptionSpec } from "../command.js";
import { insecureRegistries } from "../../registry/registry-endpoint.js";

/** `--insecure-registry HOST`, repeatable; $TSBUILD_INSECURE_REGISTRIES adds more. */
export const INSECURE_REGISTRY_OPTION: OptionSpec = {
  name: "insecure-registry",
  type: "string",
  multiple: true,
  valueName: "HOST",
  description: "Reach this registry over plain HTTP (also $TSBUILD_INSECURE_REGISTRIES and registries.conf; loopback hosts always are)",
};

/** The registry options pull, push and login share: insecure registries and where config.json is. */
export function registryAccess(context: CommandContext): { insecureRegistries: string[]; dockerConfig: { env: Record<string, string | undefined> } } {
  const flags = (context.options["insecure-registry"] as string[] | undefined) ?? [];
  return { insecureRegistries: insecureRegistries(flags, context.env), dockerConfig: { env: context.env } };
}
