import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { TsbuildError } from "../errors.js";

/**
 * containers-registries.conf(5), as buildah, podman and skopeo read it: which registries are
 * plain HTTP (`insecure`), refused (`blocked`), served from elsewhere (`location`) or
 * through mirrors (`[[registry.mirror]]`), and where short names are looked for
 * (`unqualified-search-registries`). The v2 format, and v1's three lists.
 */

export interface RegistryMirror {
  /** `host[:port][/path]`. */
  location: string;
  insecure: boolean;
  /** Which pulls may use it: `all`, `digest-only` (mirror-by-digest-only) or `tag-only`. */
  pullFromMirror: "all" | "digest-only" | "tag-only";
}

export interface RegistryEntry {
  /** The names it covers: `example.com/team`, or `*.example.com` for every subdomain (tag and digest prefixes are not read). */
  prefix: string;
  /** Where those names are really pulled from and pushed to (the prefix replaced by it). */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: RegistryMirror[];
}

export interface RegistriesConf {
  /** The file read, if any. */
  file?: string;
  /** Registries a short name (`busybox`) is looked for in, in order; empty: docker.io, as docker does. */
  unqualifiedSearchRegistries: string[];
  registries: RegistryEntry[];
}

/** The variable naming the one registries.conf to read, as for the containers tools. */
export const REGISTRIES_CONF_ENV = "CONTAINERS_REGISTRIES_CONF";
export const SYSTEM_REGISTRIES_CONF = "/etc/containers/registries.conf";

const EMPTY: RegistriesConf = { unqualifiedSearchRegistries: [], registries: [] };

/**
 * Reads the registries.conf the containers tools would: $CONTAINERS_REGISTRIES_CONF when
 * set, else the user's `$HOME/.config/containers/registries.conf` when it exists, else
 * /etc/containers/registries.conf. No file is no configuration; a file that does not parse
 * is an error naming it.
 */
export async function readRegistriesConf(options: { env?: Record<string, string | undefined> } = {}): Promise<RegistriesConf> {
  const env = options.env ?? process.env;
  const named = env[REGISTRIES_CONF_ENV];
  const candidates = named !== undefined && named !== "" ? [named] : [join(env.HOME || homedir(), ".config", "containers", "registries.conf"), SYSTEM_REGISTRIES_CONF];
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      // A missing file is the same as an empty one (containers' tools agree); others are errors.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      throw new TsbuildError("INVALID_CONFIG", `Cannot read "${file}": ${(error as Error).message}`, { cause: error });
    }
    return parseRegistriesConf(text, file);
  }
  return EMPTY;
}

/** Parses the text of a registries.conf (`file` names it in errors). */
export function parseRegistriesConf(text: string, file: string): RegistriesConf {
  let table: Record<string, unknown>;
  try {
    table = parseToml(text) as Record<string, unknown>;
  } catch (error) {
    throw new TsbuildError("INVALID_CONFIG", `Cannot parse "${file}": ${firstLine((error as Error).message)}`, { cause: error, hint: "See containers-registries.conf(5)" });
  }
  const fail = (what: string) => new TsbuildError("INVALID_CONFIG", `Cannot use "${file}": ${what}`, { hint: "See containers-registries.conf(5)" });
  const v1 = table.registries;
  if (v1 !== undefined && (table.registry !== undefined || table["unqualified-search-registries"] !== undefined)) throw fail("it mixes the v1 [registries.*] tables with v2 keys");
  if (v1 !== undefined) return parseV1(v1, fail);
  const registries: RegistryEntry[] = [];
  for (const [i, raw] of list(table.registry, "[[registry]]", fail).entries()) {
    const entry = record(raw, `[[registry]] #${i + 1}`, fail);
    const location = stringField(entry, "location", fail) ?? "";
    const prefix = stringField(entry, "prefix", fail) ?? location;
    if (prefix === "") throw fail(`[[registry]] #${i + 1} has neither prefix nor location`);
    const mirrorByDigestOnly = booleanField(entry, "mirror-by-digest-only", fail);
    const pullFromMirror = pullFromMirrorField(entry, fail) ?? (mirrorByDigestOnly ? "digest-only" : "all");
    registries.push({
      prefix,
      location: location === "" ? prefix : location,
      insecure: booleanField(entry, "insecure", fail),
      blocked: booleanField(entry, "blocked", fail),
      mirrors: list(entry.mirror, "[[registry.mirror]]", fail).map((item, j) => {
        const mirror = record(item, `mirror #${j + 1} of "${prefix}"`, fail);
        const mirrorLocation = stringField(mirror, "location", fail);
        if (!mirrorLocation) throw fail(`mirror #${j + 1} of "${prefix}" has no location`);
        return { location: mirrorLocation, insecure: booleanField(mirror, "insecure", fail), pullFromMirror: pullFromMirrorField(mirror, fail) ?? pullFromMirror };
      }),
    });
  }
  return { file, unqualifiedSearchRegistries: stringList(table["unqualified-search-registries"], "unqualified-search-registries", fail), registries };
}

/** v1: `[registries.search]`, `[registries.insecure]`, `[registries.block]`, each `registries = [...]`. */
function parseV1(v1: unknown, fail: (what: string) => TsbuildError): RegistriesConf {
  const tables = record(v1, "[registries]", fail);
  const names = (key: string) => stringList(record(tables[key] ?? {}, `[registries.${key}]`, fail).registries, `registries.${key}.registries`, fail);
  const registries = new Map<string, RegistryEntry>();
  const entry = (prefix: string) => registries.get(prefix) ?? registries.set(prefix, { prefix, location: prefix, insecure: false, blocked: false, mirrors: [] }).get(prefix)!;
  for (const name of names("insecure")) entry(name).insecure = true;
  for (const name of names("block")) entry(name).blocked = true;
  return { unqualifiedSearchRegistries: names("search"), registries: [...registries.values()] };
}

/**
 * The entry whose prefix covers `name` (`domain/path`, no tag), the longest one winning:
 * `example.com/a` covers `example.com/a` and `example.com/a/b`, not `example.com/ab`;
 * `*.example.com` covers every host under example.com.
 */
export function findRegistryEntry(conf: RegistriesConf, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  let bestLength = -1;
  for (const entry of conf.registries) {
    const prefix = entry.prefix;
    let covers: boolean;
    if (prefix.startsWith("*.")) {
      const host = name.split("/")[0].replace(/:\d+$/, "");
      covers = host.endsWith(prefix.slice(1));
    } else {
      covers = name === prefix || name.startsWith(`${prefix}/`);
    }
    if (covers && prefix.length > bestLength) {
      best = entry;
      bestLength = prefix.length;
    }
  }
  return best;
}

function firstLine(text: string): string {
  return text.split("\n")[0].replace(/\.$/, "");
}

function record(value: unknown, what: string, fail: (what: string) => TsbuildError): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail(`${what} is not a table`);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string, fail: (what: string) => TsbuildError): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw fail(`${what} is not an array of tables`);
  return value;
}

function stringList(value: unknown, what: string, fail: (what: string) => TsbuildError): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) throw fail(`${what} is not a list of strings`);
  return value as string[];
}

function stringField(table: Record<string, unknown>, key: string, fail: (what: string) => TsbuildError): string | undefined {
  const value = table[key];
  if (value !== undefined && typeof value !== "string") throw fail(`"${key}" is not a string`);
  return value;
}

function booleanField(table: Record<string, unknown>, key: string, fail: (what: string) => TsbuildError): boolean {
  const value = table[key];
  if (value !== undefined && typeof value !== "boolean") throw fail(`"${key}" is not true or false`);
  return value === true;
}

function pullFromMirrorField(table: Record<string, unknown>, fail: (what: string) => TsbuildError): RegistryMirror["pullFromMirror"] | undefined {
  const value = stringField(table, "pull-from-mirror", fail);
  if (value === undefined || value === "") return undefined;
  if (value !== "all" && value !== "digest-only" && value !== "tag-only") throw fail(`"pull-from-mirror" is "${value}": use all, digest-only or tag-only`);
  return value;
}
