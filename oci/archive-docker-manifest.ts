import { TsbuildError } from "../errors.js";

/** One image in a docker-archive's `manifest.json`. */
export interface DockerArchiveManifestEntry {
  /** The member holding the image config. */
  Config: string;
  /** The image's names (`busybox:latest`); docker writes null for an untagged image. */
  RepoTags: string[] | null;
  /** The members holding the layers, base layer first. */
  Layers: string[];
}

/**
 * Parses a docker-archive `manifest.json`; `label` names the archive in errors. Fields
 * other than Config, RepoTags and Layers (docker 25's LayerSources, for instance) are left
 * out.
 */
export function parseDockerArchiveManifest(data: Uint8Array, label: string): DockerArchiveManifestEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(data).toString("utf8"));
  } catch (error) {
    throw invalid(label, `member "manifest.json" is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!Array.isArray(value)) throw invalid(label, `member "manifest.json" is not a list`);
  return value.map((entry: unknown, i): DockerArchiveManifestEntry => {
    const where = `entry ${i} of member "manifest.json"`;
    if (typeof entry !== "object" || entry === null) throw invalid(label, `${where} is not an object`);
    const { Config, RepoTags, Layers } = entry as Record<string, unknown>;
    if (typeof Config !== "string" || Config === "") throw invalid(label, `${where} has no Config`);
    if (!isStringList(Layers)) throw invalid(label, `${where} has no Layers list`);
    if (RepoTags !== null && RepoTags !== undefined && !isStringList(RepoTags)) {
      throw invalid(label, `${where} has RepoTags that are not a list of strings`);
    }
    return { Config, RepoTags: RepoTags ?? null, Layers };
  });
}

/**
 * Splits a docker `RepoTags` entry (`busybox:latest`, `localhost:5000/x:1`) into repository
 * and tag, for the legacy `repositories` member; undefined when it has no tag.
 */
export function splitRepoTag(name: string): { repository: string; tag: string } | undefined {
  const withoutDigest = name.split("@")[0];
  const colon = withoutDigest.lastIndexOf(":");
  // A colon before the last slash belongs to a registry port, not a tag.
  if (colon < 0 || colon < withoutDigest.lastIndexOf("/") || withoutDigest !== name) return undefined;
  return { repository: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) };
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function invalid(label: string, what: string, options: { cause?: unknown } = {}): TsbuildError {
  return new TsbuildError("INVALID_ARCHIVE", `Invalid image archive "${label}": ${what}`, options);
}
