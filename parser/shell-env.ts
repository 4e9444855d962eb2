/**
 * The environment a shell word is expanded against, in the three shapes callers have:
 * a Map, a plain object, or a `NAME=value` list like a process environment.
 */
export type ShellEnv = ReadonlyMap<string, string> | Readonly<Record<string, string>> | readonly string[];

/** Looks a name up: its value when set (possibly `""`), undefined when unset. */
export type ShellEnvLookup = (name: string) => string | undefined;

/**
 * A lookup function for `env`. A `NAME=value` list is read like BuildKit's
 * `EnvsFromSlice`: each entry is split at its first `=`, an entry without `=` sets the
 * name to `""`, and a later duplicate wins. Names are case-sensitive, as on Linux.
 * A plain object counts only its own properties, so `constructor` is not set by accident.
 *
 * @example
 * shellEnvLookup(["A=1=2", "B", "A=3"])("A") // "3"
 */
export function shellEnvLookup(env: ShellEnv): ShellEnvLookup {
  if (Array.isArray(env)) {
    const map = new Map<string, string>();
    for (const entry of env as readonly string[]) {
      const text = String(entry);
      const equals = text.indexOf("=");
      if (equals < 0) map.set(text, "");
      else map.set(text.slice(0, equals), text.slice(equals + 1));
    }
    return (name) => map.get(name);
  }
  if (isMapLike(env)) {
    return (name) => (env.has(name) ? String(env.get(name)) : undefined);
  }
  const record = env as Readonly<Record<string, string>>;
  return (name) => (Object.prototype.hasOwnProperty.call(record, name) ? String(record[name]) : undefined);
}

function isMapLike(env: ShellEnv): env is ReadonlyMap<string, string> {
  const candidate = env as Partial<ReadonlyMap<string, string>>;
  return typeof candidate.get === "function" && typeof candidate.has === "function";
}
