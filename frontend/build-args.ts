import { EnvList } from "./env-list.js";
import { formatPlatform, type PlatformSpec } from "./platform.js";

/** Proxy variables: usable without ARG, passed to RUN, never part of a cache key. */
export const PROXY_ARGS = ["HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY"];

const PLATFORM_ARGS = [
  "BUILDPLATFORM", "BUILDOS", "BUILDOSVERSION", "BUILDARCH", "BUILDVARIANT",
  "TARGETPLATFORM", "TARGETOS", "TARGETOSVERSION", "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE",
];

/**
 * BuildKit's predefined global args: the build platform (the host's), the target platform
 * (`--platform`, one per image of a multi-platform build) and the target stage name. A
 * `--build-arg` of the same name overrides the value.
 */
export function predefinedArgs(platforms: { build: PlatformSpec; target: PlatformSpec }, options: { target: string; buildArgs: Record<string, string> }): EnvList {
  const { build, target } = platforms;
  const values: [string, string][] = [
    ["BUILDPLATFORM", formatPlatform(build)],
    ["BUILDOS", build.os],
    ["BUILDOSVERSION", ""],
    ["BUILDARCH", build.architecture],
    ["BUILDVARIANT", build.variant ?? ""],
    ["TARGETPLATFORM", formatPlatform(target)],
    ["TARGETOS", target.os],
    ["TARGETOSVERSION", ""],
    ["TARGETARCH", target.architecture],
    ["TARGETVARIANT", target.variant ?? ""],
    ["TARGETSTAGE", options.target === "" ? "default" : options.target],
  ];
  const env = new EnvList();
  for (const [key, value] of values) env.set(key, Object.hasOwn(options.buildArgs, key) ? options.buildArgs[key] : value);
  return env;
}

/** True for args that exist without an ARG: a build arg of these names is never "unused". */
export function isPredefinedArg(name: string): boolean {
  return PLATFORM_ARGS.includes(name) || PROXY_ARGS.includes(name.toUpperCase()) || name.startsWith("BUILDKIT_") || name === "SOURCE_DATE_EPOCH";
}

/**
 * The proxy variables among the build args, matched case-insensitively as BuildKit does.
 * A RUN sees each in upper and lower case, as BuildKit's executor sets them.
 */
export function proxyEnvFromBuildArgs(buildArgs: Record<string, string>): Record<string, string> | undefined {
  const env: Record<string, string> = {};
  for (const key of Object.keys(buildArgs).sort()) {
    const upper = key.toUpperCase();
    if (!PROXY_ARGS.includes(upper)) continue;
    env[upper] = buildArgs[key];
    env[upper.toLowerCase()] = buildArgs[key];
  }
  return Object.keys(env).length > 0 ? env : undefined;
}
