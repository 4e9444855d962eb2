import { TsbuildError } from "../errors.js";
import { cleanPath } from "./container-path.js";

/**
 * `.dockerignore` rules, exactly as Docker reads and applies them (moby/patternmatcher
 * and its `ignorefile` reader). Pure: the caller reads the file and walks the context.
 */

/**
 * Reads an ignore file into patterns: a BOM is dropped, lines that start with `#` are
 * comments, the rest is trimmed, cleaned and made relative (`/a/../b` is `b`); a leading
 * `!` marks an exception and is kept in front of the cleaned pattern.
 */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  for (const rawLine of lines) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    // Comments are recognised before trimming, as Docker does: " #x" is a pattern.
    if (line.startsWith("#")) continue;
    let pattern = line.trim();
    if (pattern === "") continue;
    const invert = pattern.startsWith("!");
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith("/")) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  }
  return patterns;
}

/**
 * The ignore files to try, first found wins: `<Dockerfile>.dockerignore` beside the
 * Dockerfile (so several Dockerfiles in one context can ignore differently), then
 * `.dockerignore` at the root of the context.
 */
export function dockerignorePaths(options: { dockerfile: string; context: string }): string[] {
  const context = options.context.replace(/\/+$/, "");
  return [`${options.dockerfile}.dockerignore`, `${context === "" ? "." : context}/.dockerignore`];
}

interface Pattern {
  /** The cleaned pattern without its `!`. */
  text: string;
  exclusion: boolean;
  /** Its path components, for matching parents of the same depth. */
  dirs: string[];
  match: (path: string) => boolean;
}

/** Thrown for a pattern Go's `filepath.Match` would reject. */
export class BadDockerignorePatternError extends TsbuildError {
  constructor(message: string) {
    super("USAGE", message, { hint: "Fix the pattern in .dockerignore: close [ ] classes and do not end a pattern with \\" });
    this.name = "BadDockerignorePatternError";
  }
}

/**
 * Matches context paths against ignore patterns, later patterns winning, with the
 * semantics of patternmatcher's `MatchesOrParentMatches`: a path is excluded when it or
 * any parent directory matches, unless a later `!` exception matches it or a parent.
 */
export class DockerignoreMatcher {
  readonly #patterns: Pattern[] = [];
  readonly hasExceptions: boolean;

  constructor(patterns: readonly string[]) {
    for (const raw of patterns) {
      let text = raw.trim();
      if (text === "") continue;
      text = cleanPath(text);
      let exclusion = false;
      if (text.startsWith("!")) {
        if (text.length === 1) throw new BadDockerignorePatternError('illegal exclusion pattern: "!"');
        exclusion = true;
        text = text.slice(1);
      }
      checkGlobSyntax(text);
      this.#patterns.push({ text, exclusion, dirs: text.split("/"), match: compilePattern(text) });
    }
    this.hasExceptions = this.#patterns.some((pattern) => pattern.exclusion);
  }

  /** True when a pattern excludes every entry of the context root (`*`, `**`, `**\/*`). */
  get excludesRoot(): boolean {
    return this.#patterns.some((pattern) => !pattern.exclusion && ["*", "**", "**/*"].includes(pattern.text));
  }

  /** True when `path` (relative to the context, `/`-separated) is left out of the context. */
  isExcluded(path: string): boolean {
    const file = normalizeContextPath(path);
    if (file === ".") return false;
    const parentDirs = file.includes("/") ? file.split("/").slice(0, -1) : [];
    let matched = false;
    for (const pattern of this.#patterns) {
      // Only a pattern that could change the answer is tried.
      if (pattern.exclusion !== matched) continue;
      let match = pattern.match(file);
      for (let i = 0; !match && i < parentDirs.length; i++) {
        match = pattern.match(parentDirs.slice(0, i + 1).join("/"));
      }
      if (match) matched = !pattern.exclusion;
    }
    return matched;
  }

  /**
   * False only when nothing below the excluded directory `dir` can be re-included by an
   * exception, so a walker may skip the whole directory. Conservative: true when unsure.
   */
  mayIncludeBelow(dir: string): boolean {
    const dirParts = normalizeContextPath(dir).split("/");
    for (const pattern of this.#patterns) {
      if (!pattern.exclusion) continue;
      if (couldMatchBelow(pattern.dirs, dirParts)) return true;
    }
    return false;
  }
}

function normalizeContextPath(path: string): string {
  let file = cleanPath(path);
  while (file.startsWith("/")) file = file.slice(1);
  return file === "" ? "." : file;
}

/** Could a path under `dirParts` (or `dirParts` itself) match the pattern's components? */
function couldMatchBelow(patternDirs: string[], dirParts: string[]): boolean {
  for (let i = 0; i < dirParts.length; i++) {
    if (i >= patternDirs.length) return true; // the pattern matches a parent: all below follows
    if (patternDirs[i].includes("**")) return true;
    if (!compilePattern(patternDirs[i])(dirParts[i])) return false;
  }
  return true;
}

/**
 * Compiles one pattern as patternmatcher does: `*` and `?` stay within a path component,
 * `**` spans components, `\` escapes, `[...]` is a character class; exact, prefix (`a/**`)
 * and suffix (`**\/a`) forms are matched without a regular expression.
 */
function compilePattern(pattern: string): (path: string) => boolean {
  let source = "^";
  let kind: "exact" | "prefix" | "suffix" | "regexp" = "exact";
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === "*") {
      if (chars[i + 1] === "*") {
        const first = i === 0;
        i++;
        if (chars[i + 1] === "/") i++;
        if (i + 1 >= chars.length) {
          if (kind === "exact") kind = "prefix";
          else {
            source += ".*";
            kind = "regexp";
          }
        } else {
          source += "(.*/)?";
          kind = "regexp";
        }
        if (first) kind = "suffix";
      } else {
        source += "[^/]*";
        kind = "regexp";
      }
    } else if (ch === "?") {
      source += "[^/]";
      kind = "regexp";
    } else if (".+()|{}$".includes(ch)) {
      source += `\\${ch}`;
    } else if (ch === "\\") {
      if (i + 1 < chars.length) {
        source += escapeRegExp(chars[++i]);
        kind = "regexp";
      } else {
        source += "\\\\";
      }
    } else if (ch === "[" || ch === "]") {
      source += ch;
      kind = "regexp";
    } else {
      source += ch;
    }
  }
  switch (kind) {
    case "exact":
      return (path) => path === pattern;
    case "prefix": {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case "suffix": {
      const suffix = pattern.slice(2);
      return (path) => path.endsWith(suffix) || (suffix.startsWith("/") && path === suffix.slice(1));
    }
    default: {
      let regexp: RegExp;
      try {
        regexp = new RegExp(`${source}$`);
      } catch {
        return () => false;
      }
      return (path) => regexp.test(path);
    }
  }
}

function escapeRegExp(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

/** Rejects what Go's `filepath.Match` calls ErrBadPattern: bad classes, a trailing `\`. */
function checkGlobSyntax(pattern: string): void {
  const bad = () => new BadDockerignorePatternError(`syntax error in pattern: ${pattern}`);
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === "\\") {
      if (i + 1 >= pattern.length) throw bad();
      i++;
    } else if (ch === "[") {
      i++;
      if (pattern[i] === "^") i++;
      let ranges = 0;
      for (;;) {
        if (i >= pattern.length) throw bad();
        if (pattern[i] === "]" && ranges > 0) break;
        const readChar = () => {
          if (i >= pattern.length || pattern[i] === "-" || pattern[i] === "]") throw bad();
          if (pattern[i] === "\\") {
            i++;
            if (i >= pattern.length) throw bad();
          }
          i++;
        };
        readChar();
        if (pattern[i] === "-") {
          i++;
          readChar();
        }
        ranges++;
      }
    }
  }
}
