/**
 * An ordered set of environment variables, as a stage's state carries them. Setting a
 * name that is already present replaces its value in place, the way BuildKit's image
 * config `addEnv` does, so the order of first definition is kept.
 */
export class EnvList {
  readonly #entries = new Map<string, string>();

  constructor(entries: Iterable<readonly [string, string]> = []) {
    for (const [key, value] of entries) this.set(key, value);
  }

  /** Reads a `K=V` list (an image config's Env): split at the first `=`; no `=` means empty. */
  static fromStrings(list: readonly string[] | null | undefined): EnvList {
    const env = new EnvList();
    for (const item of list ?? []) {
      const eq = item.indexOf("=");
      env.set(eq === -1 ? item : item.slice(0, eq), eq === -1 ? "" : item.slice(eq + 1));
    }
    return env;
  }

  get(key: string): string | undefined {
    return this.#entries.get(key);
  }

  has(key: string): boolean {
    return this.#entries.has(key);
  }

  set(key: string, value: string): void {
    this.#entries.set(key, value);
  }

  keys(): string[] {
    return [...this.#entries.keys()];
  }

  clone(): EnvList {
    return new EnvList(this.#entries);
  }

  /** As a plain record, the shape the shell lexer accepts. */
  toRecord(): Record<string, string> {
    return Object.fromEntries(this.#entries);
  }

  /** As `K=V` strings in order, the shape of an image config's Env and an exec's env. */
  toStrings(): string[] {
    return [...this.#entries].map(([key, value]) => `${key}=${value}`);
  }
}
