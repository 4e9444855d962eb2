/** Where to point in a source text: 1-based line and column, optional last line. */
export interface FrameLocation {
  line: number;
  column: number;
  endLine?: number;
}

/**
 * Renders the lines around a location with line numbers and a caret under the column,
 * like a compiler's diagnostic: two lines of context before, the span, one line after.
 */
export function codeFrame(source: string, location: FrameLocation, options: { context?: number } = {}): string {
  const context = options.context ?? 2;
  const lines = source.split(/\r?\n/);
  const last = Math.min(location.endLine ?? location.line, lines.length, location.line + 8);
  const from = Math.max(1, location.line - context);
  const to = Math.min(lines.length, last + 1);
  const width = String(to).length;
  const out: string[] = [];
  for (let n = from; n <= to; n++) {
    const marked = n >= location.line && n <= last;
    const text = (lines[n - 1] ?? "").replace(/\t/g, "    ");
    out.push(`${marked ? ">" : " "} ${String(n).padStart(width)} | ${text}`);
    if (n === location.line) {
      const before = (lines[n - 1] ?? "").slice(0, Math.max(0, location.column - 1)).replace(/\t/g, "    ");
      out.push(`  ${" ".repeat(width)} | ${" ".repeat(before.length)}^`);
    }
  }
  return out.join("\n");
}
