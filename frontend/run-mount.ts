import { DockerfileSyntaxError, type SyntaxErrorLocation } from "../parser/syntax-error.js";
import { buildkitSuggestion, withSuggestion } from "../util/did-you-mean.js";

export type RunMountType = "bind" | "cache" | "tmpfs" | "secret" | "ssh";
export type CacheSharing = "shared" | "private" | "locked";

/** One `RUN --mount=...` spec, parsed and checked as BuildKit's `parseMount` does. */
export interface RunMount {
  type: RunMountType;
  /** A stage name or image to take the mount from; empty for the build context. */
  from: string;
  source: string;
  target: string;
  readOnly: boolean;
  /** tmpfs size in bytes; 0 for no limit. */
  sizeLimit: number;
  /** The cache or secret or ssh id. */
  id: string;
  /** Empty when not given (caches then share). */
  sharing: CacheSharing | "";
  required: boolean;
  /** For secrets: expose the secret as this environment variable instead of a file. */
  env: string | undefined;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
}

const TYPES: readonly RunMountType[] = ["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARING: readonly CacheSharing[] = ["shared", "private", "locked"];
const KEYS = [
  "type", "from", "source", "target", "readonly", "id", "sharing", "required", "size", "mode", "uid", "gid", "src", "dst", "destination", "ro", "rw", "readwrite", "env",
];
const UINT32_MAX = 0xffffffff;

export interface ParseRunMountOptions {
  /** Where the RUN is, for errors. */
  location: SyntaxErrorLocation;
  /** Expands each value with the stage's variables (BuildKit expands every `key=value` value). */
  expand?: (value: string) => string;
}

/**
 * Parses one `--mount` value: comma-separated `key=value` fields (CSV quoting allowed),
 * with BuildKit's defaults (type bind; read-only except cache and tmpfs) and checks.
 */
export function parseRunMount(spec: string, options: ParseRunMountOptions): RunMount {
  const fail = (reason: string, hint?: string): never => {
    throw new DockerfileSyntaxError(`Cannot parse mount "${spec}": ${reason}`, options.location, hint ? { hint } : {});
  };
  const mount: RunMount = {
    type: "bind", from: "", source: "", target: "", readOnly: false, sizeLimit: 0, id: "", sharing: "", required: false,
    env: undefined, mode: undefined, uid: undefined, gid: undefined,
  };
  let readOnlyChosen = false;
  for (const field of splitCsv(spec, fail)) {
    const eq = field.indexOf("=");
    const key = (eq === -1 ? field : field.slice(0, eq)).toLowerCase();
    if (eq === -1) {
      if (key === "readonly" || key === "ro" || key === "readwrite" || key === "rw") {
        mount.readOnly = key === "readonly" || key === "ro";
        readOnlyChosen = true;
      } else if (key === "required") {
        if (mount.type !== "secret" && mount.type !== "ssh") fail(`unexpected key '${key}' for mount type '${mount.type}'`);
        mount.required = true;
      } else {
        fail(`invalid field '${field}' must be a key=value pair`);
      }
      continue;
    }
    const raw = field.slice(eq + 1);
    const value = options.expand ? options.expand(raw) : raw;
    switch (key) {
      case "type":
        mount.type = oneOf(value, TYPES, () => fail(...suggested(`unsupported mount type "${value}"`, value, TYPES)));
        break;
      case "from":
        mount.from = value;
        break;
      case "source":
      case "src":
        mount.source = value;
        break;
      case "target":
      case "dst":
      case "destination":
        mount.target = value;
        break;
      case "readonly":
      case "ro":
      case "readwrite":
      case "rw": {
        const flag = parseGoBool(value) ?? fail(`invalid value for ${key}: ${value}`, "Use true or false");
        mount.readOnly = key === "readonly" || key === "ro" ? flag : !flag;
        readOnlyChosen = true;
        break;
      }
      case "required":
        if (mount.type !== "secret" && mount.type !== "ssh") fail(`unexpected key '${key}' for mount type '${mount.type}'`);
        mount.required = parseGoBool(value) ?? fail(`invalid value for ${key}: ${value}`, "Use true or false");
        break;
      case "size":
        if (mount.type !== "tmpfs") fail(`unexpected key '${key}' for mount type '${mount.type}'`);
        mount.sizeLimit = parseRamInBytes(value) ?? fail(`invalid value for ${key}: ${value}`, "Give a size such as 64m or 1g");
        break;
      case "id":
        mount.id = value;
        break;
      case "sharing":
        mount.sharing = oneOf(value, SHARING, () => fail(...suggested(`unsupported sharing value "${value}"`, value, SHARING)));
        break;
      case "mode":
        mount.mode = parseUint(value, 8) ?? fail(`invalid value ${value} for mode`, "Give the mode in octal, such as 0755");
        break;
      case "uid":
        mount.uid = parseUint(value, 10) ?? fail(`invalid value ${value} for uid`);
        break;
      case "gid":
        mount.gid = parseUint(value, 10) ?? fail(`invalid value ${value} for gid`);
        break;
      case "env":
        mount.env = value;
        break;
      default: {
        fail(withSuggestion(`unexpected key '${key}' in '${field}'`, buildkitSuggestion(key, KEYS, { caseSensitive: true })));
      }
    }
  }

  const fileInfoAllowed = mount.type === "secret" || mount.type === "ssh" || mount.type === "cache";
  if (!fileInfoAllowed) {
    for (const name of ["mode", "uid", "gid"] as const) {
      if (mount[name] !== undefined) fail(`${name} not allowed for "${mount.type}" type mounts`);
    }
  }
  if (!readOnlyChosen) mount.readOnly = mount.type !== "cache" && mount.type !== "tmpfs";
  if (mount.type === "secret") {
    if (mount.from !== "") fail("secret mount should not have a from");
    if (mount.sharing !== "") fail("secret mount should not define sharing");
    if (mount.source === "" && mount.target === "" && mount.id === "") fail("invalid secret mount. one of source, target required");
    if (mount.source !== "" && mount.id !== "") fail("both source and id can't be set");
  }
  if (mount.sharing !== "" && mount.type !== "cache") fail(`invalid cache sharing set for ${mount.type} mount`);
  return mount;
}

/**
 * Reads only the `from=` of a spec, before the stage's variables are known: the stage
 * graph needs it early, and BuildKit refuses variables in it for that reason.
 */
export function runMountFrom(spec: string, options: { location: SyntaxErrorLocation }): string {
  const fail = (reason: string, hint?: string): never => {
    throw new DockerfileSyntaxError(`Cannot parse mount "${spec}": ${reason}`, options.location, hint ? { hint } : {});
  };
  let from = "";
  for (const field of splitCsv(spec, fail)) {
    const eq = field.indexOf("=");
    if (eq === -1 || field.slice(0, eq).toLowerCase() !== "from") continue;
    from = field.slice(eq + 1);
    const dollar = from.indexOf("$");
    if (dollar !== -1 && dollar !== from.length - 1) {
      fail("'from' doesn't support variable expansion, define alias stage instead", "Add a stage `FROM ${IMAGE} AS name` and mount from=name");
    }
  }
  return from;
}

/** Splits a CSV record as Go's CSV readers do: `"..."` quotes a field, `""` is a quote in it. */
function splitCsv(text: string, fail: (reason: string) => never): string[] {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) fail('extraneous or missing " in quoted-field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      if (i < text.length && text[i] !== ",") fail('extraneous or missing " in quoted-field');
    } else {
      const comma = text.indexOf(",", i);
      field = text.slice(i, comma === -1 ? text.length : comma);
      if (field.includes('"')) fail('bare " in non-quoted-field');
      i = comma === -1 ? text.length : comma;
    }
    fields.push(field);
    if (i >= text.length) break;
    i++; // the comma
  }
  return fields;
}

/** Go's `strconv.ParseBool`. */
function parseGoBool(value: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return undefined;
}

/** Go's `strconv.ParseUint(value, base, 32)` for bases 8 and 10. */
function parseUint(value: string, base: 8 | 10): number | undefined {
  const pattern = base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!pattern.test(value)) return undefined;
  const number = parseInt(value, base);
  return number <= UINT32_MAX ? number : undefined;
}

/** docker/go-units `RAMInBytes`: `64m`, `1.5g`, `512kb`, binary multiples. */
function parseRamInBytes(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(value);
  if (!match) return undefined;
  const size = Number.parseFloat(match[1]);
  const power = match[2] ? "kmgtp".indexOf(match[2].toLowerCase()) + 1 : 0;
  return Math.trunc(size * 1024 ** power);
}

/** `value`, case-insensitively, as one of `allowed`; otherwise whatever `refuse` throws. */
function oneOf<T extends string>(value: string, allowed: readonly T[], refuse: () => never): T {
  const lower = value.toLowerCase() as T;
  return allowed.includes(lower) ? lower : refuse();
}

/** BuildKit's message with its "(did you mean X?)", or ours with the choices as a hint. */
function suggested(message: string, value: string, allowed: readonly string[]): [string, string | undefined] {
  const suggestion = buildkitSuggestion(value, allowed, { caseSensitive: true });
  return suggestion ? [withSuggestion(message, suggestion), undefined] : [message, `Use one of ${allowed.join(", ")}`];
}
