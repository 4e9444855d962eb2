/** An OS/architecture pair, with an optional CPU variant, as BuildKit's `--platform` takes it. */
export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const COMPONENT = /^[A-Za-z0-9_-]+$/;
const KNOWN_OS = new Set(["aix", "android", "darwin", "dragonfly", "freebsd", "illumos", "ios", "js", "linux", "netbsd", "openbsd", "plan9", "solaris", "wasip1", "windows"]);

/**
 * Parses `linux/amd64`, `linux/arm/v7`, `arm64` or `linux` the way containerd's
 * `platforms.Parse` does, normalising architecture aliases (`x86_64` is `amd64`,
 * `aarch64` is `arm64`). A lone OS takes the default architecture, a lone architecture
 * the default OS. Returns undefined for text that is no platform.
 */
export function parsePlatform(text: string, defaults: PlatformSpec): PlatformSpec | undefined {
  const parts = text.split("/");
  if (parts.length > 3 || parts.some((part) => !COMPONENT.test(part))) return undefined;
  if (parts.length === 1) {
    const only = parts[0].toLowerCase();
    if (KNOWN_OS.has(only) || only === "macos") {
      return normalizePlatform({ os: only, architecture: defaults.architecture, variant: defaults.variant });
    }
    return normalizePlatform({ os: defaults.os, architecture: only });
  }
  return normalizePlatform({ os: parts[0], architecture: parts[1], variant: parts[2] });
}

/** containerd's `platforms.Normalize`: lower case, canonical architecture and variant names. */
export function normalizePlatform(platform: PlatformSpec): PlatformSpec {
  let os = platform.os.toLowerCase();
  if (os === "macos") os = "darwin";
  let architecture = platform.architecture.toLowerCase();
  let variant = platform.variant?.toLowerCase() ?? "";
  switch (architecture) {
    case "i386":
      architecture = "386";
      variant = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      architecture = "amd64";
      if (variant === "v1") variant = "";
      break;
    case "aarch64":
    case "arm64":
      architecture = "arm64";
      if (variant === "8" || variant === "v8") variant = "";
      break;
    case "armhf":
      architecture = "arm";
      variant = "v7";
      break;
    case "armel":
      architecture = "arm";
      variant = "v6";
      break;
    case "arm":
      if (variant === "") variant = "v7";
      else if (/^[5-8]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  return variant === "" ? { os, architecture } : { os, architecture, variant };
}

/** `linux/amd64`, `linux/arm/v7`. */
export function formatPlatform(platform: PlatformSpec): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => part).join("/");
}

/** True when both name the same normalised platform. */
export function samePlatform(a: PlatformSpec, b: PlatformSpec): boolean {
  return formatPlatform(normalizePlatform(a)) === formatPlatform(normalizePlatform(b));
}
