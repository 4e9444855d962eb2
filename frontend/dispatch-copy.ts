import { WordExpander } from "./word-expander.js";
import { parseChmod, type ChmodSpec } from "./chmod.js";
import { goQuote } from "./go-format.js";
import { cleanPath, joinPath, normalizePath } from "./container-path.js";
import type { VertexNode } from "./graph-builder.js";
import type { CopyAction, FileAction } from "./graph.js";
import type { CopyInstruction } from "./instructions/types.js";
import {
  commitHistory,
  currentVertex,
  expandInStage,
  location,
  nameText,
  relocate,
  stepName,
  syntaxError,
  uppercaseKeyword,
  warn,
  type Command,
  type ConvertContext,
  type StageState,
} from "./stage-state.js";

const CHECKSUM = /^(sha256:[0-9a-f]{64}|sha384:[0-9a-f]{96}|sha512:[0-9a-f]{128})$/;

/**
 * COPY and ADD: one file vertex over the stage's file system with one copy action per
 * source, reading from the build context, another stage or image (`--from`), a URL or a
 * git repository (ADD), or an inline heredoc file.
 */
export function dispatchCopy(ctx: ConvertContext, state: StageState, command: Command): void {
  const copy = command.instruction as CopyInstruction;
  const range = copy.range;
  const isAdd = copy.kind === "ADD";
  const fail = (reason: string, hint?: string) => syntaxError(ctx, range, reason, hint ? { hint } : {});
  const expand = (word: string) => expandInStage(ctx, state, range, word);

  // BuildKit expands every word of the instruction before it acts on any of them.
  const chown = copy.chown === undefined ? "" : expand(copy.chown);
  const chmodText = copy.chmod === undefined ? "" : expand(copy.chmod);
  const checksum = copy.checksum === undefined ? "" : expand(copy.checksum);
  const sources = copy.sources.map(expand);
  const destination = expand(copy.destination);
  const heredocExpander = new WordExpander("\\");
  const contents = copy.sourceContents.map((content) => {
    if (!content.expand) return content;
    try {
      return { ...content, data: heredocExpander.word(content.data, state.env, { skipProcessQuotes: true }).value };
    } catch (error) {
      throw relocate(ctx, range, error);
    }
  });

  const destIsDirectory = destination.endsWith("/") || (state.image.os === "windows" && destination.endsWith("\\"));
  if (sources.length + contents.length > 1 && !destIsDirectory) {
    throw fail(
      `When using ${copy.kind} with more than one source file, the destination must be a directory and end with a /`,
      `Write the destination as "${destination}/"`,
    );
  }

  const dest = normalizePath(state.dir, destination === "." || destination === "" ? "./" : destination, { keepSlash: true });
  let chmod: ChmodSpec | undefined;
  if (chmodText !== "") {
    const parsed = parseChmod(chmodText);
    if ("error" in parsed) throw fail(parsed.error, "Give --chmod in octal (0755) or symbolic (u+x) form");
    chmod = parsed.spec;
  }
  if (checksum !== "") {
    if (sources.length !== 1) throw fail("checksum can't be specified for multiple sources");
    if (!isHttpSource(sources[0]) && !isGitSource(sources[0])) throw fail("checksum requires HTTP(S) or Git sources");
    // A git source's checksum is a commit hash, checked where the repository is fetched.
    if (isHttpSource(sources[0]) && !CHECKSUM.test(checksum)) throw fail(`invalid checksum digest format: "${checksum}"`, 'Give --checksum as "sha256:" and 64 hex digits');
  }

  let fromNode: VertexNode | undefined;
  const from = command.sources[0];
  if (from) {
    if (!from.dispatched) {
      throw fail(`cannot copy from stage "${copy.from}", it needs to be defined before current stage "${state.displayName}"`);
    }
    fromNode = currentVertex(ctx, from);
  }

  let history = copy.kind;
  if (copy.parents) history += " --parents";
  if (chown !== "") history += ` --chown=${chown}`;
  if (chmodText !== "") history += ` --chmod=${chmodText}`;

  const name = stepName(state, uppercaseKeyword(nameText(ctx, copy.node.original, state.env)));
  const inputs: VertexNode[] = [currentVertex(ctx, state)];
  const inputIndex = (node: VertexNode): number => {
    const existing = inputs.indexOf(node);
    if (existing !== -1) return existing;
    inputs.push(node);
    return inputs.length - 1;
  };
  const baseAction = {
    chown: chown === "" ? undefined : chown,
    chmod,
    excludePatterns: [...copy.excludes],
  };
  const actions: FileAction[] = [];
  const stage = state.displayName || undefined;

  for (const source of sources) {
    history += ` ${source}`;
    if (isGitSource(source)) {
      if (!isAdd) throw fail("source can't be a git ref for COPY", "Use ADD for git sources");
      const git = parseGitSource(source);
      const node = ctx.graph.add({
        name,
        stage,
        location: location(ctx, range),
        definition: { op: "source", kind: "git", ...git, keepGitDir: copy.keepGitDir, checksum: checksum === "" ? undefined : checksum },
      });
      actions.push(plainCopy({ ...baseAction, source: inputIndex(node), src: "/", dest }));
    } else if (isHttpSource(source)) {
      if (!isAdd) throw fail("source can't be a URL for COPY", "Use ADD for URLs, or download in a RUN");
      const filename = urlFilename(source);
      const node = ctx.graph.add({
        name,
        stage,
        location: location(ctx, range),
        definition: { op: "source", kind: "http", url: source, filename, checksum: checksum === "" ? undefined : checksum },
      });
      actions.push(plainCopy({ ...baseAction, source: inputIndex(node), src: filename, dest, attemptUnpack: copy.unpack ?? false }));
    } else {
      let src = source;
      let includePatterns: string[] = [];
      let requiredPaths: string[] = [];
      if (copy.parents) {
        // `a/./b/c`: keep the directories below the `/./` pivot; without one, all of them.
        const pivot = src.indexOf("/./");
        const pattern = pivot === -1 ? src : src.slice(pivot + 3);
        src = pivot === -1 ? "/" : src.slice(0, pivot);
        const normalisedPattern = normalizePath("/", pattern, { keepSlash: false });
        includePatterns = [normalisedPattern.replace(/^\//, "")];
        if (!hasWildcards(src) && !hasWildcards(pattern)) requiredPaths = [normalizePath("/", joinPath(src, pattern), { keepSlash: false })];
      }
      src = normalizePath("/", src, { keepSlash: false });
      const node = fromNode ?? ctx.graph.local("context");
      if (!fromNode) {
        ctx.contextPaths.add(joinPath("/", source));
        warnIfIgnored(ctx, { kind: copy.kind, source, range });
      }
      actions.push({
        action: "copy",
        source: inputIndex(node),
        src,
        dest,
        followSymlinks: true,
        dirContentsOnly: true,
        attemptUnpack: copy.unpack ?? isAdd,
        createDestPath: true,
        allowWildcard: true,
        allowEmptyWildcard: true,
        includePatterns,
        excludePatterns: baseAction.excludePatterns,
        requiredPaths,
        chown: baseAction.chown,
        chmod,
      });
    }
  }

  for (const content of contents) {
    history += ` <<${content.name}`;
    const inline = ctx.graph.add({
      name: "preparing inline document",
      stage,
      inputs: [ctx.graph.scratch()],
      definition: { op: "file", link: false, actions: [{ action: "mkfile", path: `/${content.name}`, mode: 0o644, data: content.data }] },
    });
    actions.push(plainCopy({ ...baseAction, source: inputIndex(inline), src: `/${content.name}`, dest }));
  }
  history += ` ${destination}`;

  state.vertex = ctx.graph.add({
    name,
    stage,
    location: location(ctx, range),
    inputs,
    definition: { op: "file", actions, link: copy.link },
    ignoreCache: state.ignoreCache,
  });
  commitHistory(state, history, { layer: true, buildkit: true });
}

/** A copy of one file or tree as ADD does for URLs, git and inline files: no wildcards, no unpack. */
function plainCopy(fields: Pick<CopyAction, "source" | "src" | "dest" | "chown" | "chmod" | "excludePatterns"> & { attemptUnpack?: boolean }): CopyAction {
  return {
    action: "copy",
    source: fields.source,
    src: fields.src,
    dest: fields.dest,
    followSymlinks: false,
    dirContentsOnly: false,
    attemptUnpack: fields.attemptUnpack ?? false,
    createDestPath: true,
    allowWildcard: false,
    allowEmptyWildcard: false,
    includePatterns: [],
    excludePatterns: fields.excludePatterns,
    requiredPaths: [],
    chown: fields.chown,
    chmod: fields.chmod,
  };
}

/**
 * BuildKit's CopyIgnoredFile check: a source the .dockerignore excludes copies nothing.
 * Skipped when there are `!` exceptions, which make a static answer unreliable.
 */
function warnIfIgnored(ctx: ConvertContext, options: { kind: "COPY" | "ADD"; source: string; range: CopyInstruction["range"] }): void {
  const matcher = ctx.dockerignore;
  if (!matcher || matcher.hasExceptions) return;
  const src = cleanPath(options.source);
  const isRoot = src === "." || src === "/";
  if (isRoot ? matcher.excludesRoot : matcher.isExcluded(src)) {
    const verb = options.kind === "ADD" ? "Add" : "Copy";
    warn(ctx, options.range, "copy-ignored-file", `Attempting to ${verb} file ${goQuote(src)} that is excluded by .dockerignore`);
  }
}

export function isHttpSource(source: string): boolean {
  return (source.startsWith("http://") || source.startsWith("https://")) && !isGitSource(source);
}

/**
 * Git sources as BuildKit's ParseGitRef recognises the common forms: `git@host:repo`,
 * `git://`, `ssh://`, and http(s) URLs whose path ends in `.git`, each with an optional
 * `#ref:subdir` fragment.
 */
export function isGitSource(source: string): boolean {
  if (/^git@[^:]+:/.test(source) || source.startsWith("git://") || source.startsWith("ssh://")) return true;
  if (!source.startsWith("http://") && !source.startsWith("https://")) return false;
  const withoutFragment = source.split("#")[0];
  return /\.git\/?$/.test(withoutFragment);
}

function parseGitSource(source: string): { remote: string; ref: string; subdir: string } {
  const hash = source.indexOf("#");
  const remote = hash === -1 ? source : source.slice(0, hash);
  const fragment = hash === -1 ? "" : source.slice(hash + 1);
  const colon = fragment.indexOf(":");
  return {
    remote,
    ref: colon === -1 ? fragment : fragment.slice(0, colon),
    subdir: colon === -1 ? "" : cleanPath(fragment.slice(colon + 1)),
  };
}

/** The file name ADD gives a download: the URL path's last element, else `__unnamed__`. */
function urlFilename(source: string): string {
  try {
    const path = new URL(source).pathname;
    const base = path.replace(/\/+$/, "").split("/").pop() ?? "";
    return base === "" || base === "." ? "__unnamed__" : decodeURIComponent(base);
  } catch {
    return "__unnamed__";
  }
}

function hasWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    if (name[i] === "\\") i++;
    else if ("*?[".includes(name[i])) return true;
  }
  return false;
}
