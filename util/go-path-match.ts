/**
 * Go's `path.Match` as a compiled test: `*` any run of characters but `/`, `?` one of them,
 * `[a-z]` and `[^a]` classes (`[!a]` too, as BuildKit's copy patterns take it), `\` quoting
 * the next character. docker's `reference=` filters and BuildKit's COPY sources both match
 * with it. Undefined for a pattern Go calls malformed (an unclosed class).
 */
export function compileGoPathMatch(pattern: string): ((text: string) => boolean) | undefined {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (char === "\\" && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]);
    else if (char === "[") {
      const end = pattern.indexOf("]", i + 2);
      if (end === -1) return undefined;
      const body = pattern.slice(i + 1, end);
      const negated = body.startsWith("^") || body.startsWith("!");
      source += `[${negated ? "^" : ""}${escapeClass(negated ? body.slice(1) : body)}]`;
      i = end;
    } else source += escapeRegExp(char);
  }
  const regex = new RegExp(`^${source}$`, "su");
  return (text) => regex.test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** Inside a class only `]`, `\` and `[` need quoting; `-` keeps its range meaning. */
function escapeClass(body: string): string {
  return body.replace(/[\]\\[]/g, "\\$&");
}
