import { TsbuildError } from "../../errors.js";
import { executeGoTemplate, GoTemplateExecError, HEADER_FUNCTIONS } from "./execute-go-template.js";
import { goStruct } from "./go-value.js";
import { GoTemplateSyntaxError, parseGoTemplate, type GoTemplateNode } from "./parse-go-template.js";

/** How a list command prints its rows, in docker's terms. */
export interface RowFormat {
  /** The `--format` value: undefined or "table" for the default table, "json", "table …", or a template. */
  format: string | undefined;
  /** The default table, as docker writes it: `table {{.Repository}}\t{{.Tag}}…`. */
  table: string;
  /** Each field's column header (`ID` → `IMAGE ID`). */
  headers: Readonly<Record<string, string>>;
  /** `-q`: only `{{.ID}}`, whatever the format says (as docker's -q does). */
  quiet?: boolean;
}

/**
 * Renders `rows` as docker's formatter does: a template run once a row, each followed by a
 * newline; a `table` format gets a header row (the same template run over the headers) and
 * columns aligned by Go's tabwriter (minimum width 10, padding 3). `\t` and `\n` typed in a
 * format stand for a tab and a newline. Each row is a struct: a field it lacks is an error.
 */
export function formatRows(rows: readonly object[], options: RowFormat): string {
  const asked = options.quiet ? "{{.ID}}" : options.format === undefined || options.format === "" || options.format === "table" ? options.table : options.format;
  const isTable = asked.startsWith("table");
  const source = (asked === "json" ? "{{json .}}" : isTable ? asked.slice("table".length) : asked)
    .replace(/^ +| +$/g, "")
    .replace(/\\t/g, "\t")
    .replace(/\\n/g, "\n");
  const nodes = parseFormat(source);
  let body = "";
  for (const row of rows) body += `${runFormat(nodes, goStruct(row))}\n`;
  if (!isTable) return body;
  return tabwrite(`${header(nodes, options.headers)}\n${body}`);
}

/**
 * The header row: the template run over the field names' headers. A part it cannot run
 * over them (`{{.Label "x"}}`, a map of strings has no methods) ends the header there, as
 * docker's does: it ignores that error.
 */
function header(nodes: readonly GoTemplateNode[], headers: Readonly<Record<string, string>>): string {
  try {
    return executeGoTemplate(nodes, { ...headers }, HEADER_FUNCTIONS);
  } catch (error) {
    if (error instanceof GoTemplateExecError) return error.partial;
    throw error;
  }
}

/** Parses a `--format` template, or says why it cannot. */
export function parseFormat(source: string): GoTemplateNode[] {
  try {
    return parseGoTemplate(source);
  } catch (error) {
    if (error instanceof GoTemplateSyntaxError) throw new TsbuildError("USAGE", `Cannot parse --format: template: ${error.message}`, { hint: 'Use Go template syntax, as docker does: --format "{{.ID}}"' });
    throw error;
  }
}

/** Runs a parsed `--format` template over one value. */
export function runFormat(nodes: readonly GoTemplateNode[], data: unknown, functions?: Parameters<typeof executeGoTemplate>[2]): string {
  try {
    return executeGoTemplate(nodes, data, functions);
  } catch (error) {
    if (error instanceof GoTemplateExecError) throw new TsbuildError("USAGE", `Cannot execute --format: template: ${error.message}`);
    throw error;
  }
}

/**
 * Go's text/tabwriter with docker's settings: a tab ends a cell; consecutive lines with a
 * cell in the same column form a block whose cells are padded to its widest plus 3 (at
 * least 10). The text after a line's last tab is not aligned.
 */
export function tabwrite(text: string): string {
  const lines = text.split("\n").map((line) => line.split("\t"));
  const widths: number[] = [];
  let out = "";
  const write = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i];
      out += cells.map((cell, j) => (j < widths.length && j < cells.length - 1 ? cell + " ".repeat(Math.max(0, widths[j] - [...cell].length)) : cell)).join("");
      if (i < lines.length - 1) out += "\n";
    }
  };
  const format = (from: number, to: number, column: number) => {
    let start = from;
    for (let i = from; i < to; i++) {
      if (column >= lines[i].length - 1) continue;
      write(start, i);
      start = i;
      let width = 10;
      for (; i < to && column < lines[i].length - 1; i++) width = Math.max(width, [...lines[i][column]].length + 3);
      widths.push(width);
      format(start, i, column + 1);
      widths.pop();
      start = i;
      i--;
    }
    write(start, to);
  };
  format(0, lines.length, 0);
  return out;
}
