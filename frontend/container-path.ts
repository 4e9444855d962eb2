/**
 * Path rules for paths inside the image (always POSIX), as BuildKit applies them.
 */

/** Go's `path.Clean`: the shortest equivalent path; `""` becomes `"."`. */
export function cleanPath(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/** Go's `path.Join`: joins the non-empty parts and cleans the result. */
export function joinPath(...parts: string[]): string {
  const nonEmpty = parts.filter((part) => part !== "");
  return nonEmpty.length === 0 ? "" : cleanPath(nonEmpty.join("/"));
}

/**
 * BuildKit's `NormalizePath` for Linux: a relative path is joined to `parent` (cleaned),
 * an absolute one is kept as written. With `keepSlash`, a trailing `/` or `/.` of the
 * input survives, since COPY reads it as "destination is a directory".
 */
export function normalizePath(parent: string, path: string, options: { keepSlash: boolean }): string {
  let base = parent === "" ? "/" : parent;
  if (!base.startsWith("/")) base = joinPath("/", base);
  let result = path === "" ? base : path;
  if (!result.startsWith("/")) result = joinPath(base, result);
  if (options.keepSlash) {
    if (path.endsWith("/") && !result.endsWith("/")) result += "/";
    else if (path.endsWith("/.")) result = `${result === "/" ? "" : result}/.`;
  }
  return result;
}

/** The last element of a path, as Go's `path.Base`. */
export function baseName(path: string): string {
  if (path === "") return ".";
  const trimmed = path.replace(/\/+$/, "");
  if (trimmed === "") return "/";
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}
