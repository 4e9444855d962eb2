/**
 * A map of paths to one-line values as a text blob: a header line, then `<path>\t<value>` a
 * line, sorted (the same map makes the same bytes). A path holding a tab, a newline or a
 * leading `"` is written as a JSON string. Reading it back is one pass of string slices:
 * for a 20,000-file context a few milliseconds, where a JSON object of the same took ~30
 * (and is built up again as a Map after). Values must not hold a newline.
 */
export function encodePathRecords(header: string, records: Iterable<readonly [string, string]>): Buffer {
  const lines: string[] = [];
  for (const [path, value] of records) lines.push(`${needsQuoting(path) ? JSON.stringify(path) : path}\t${value}`);
  lines.sort();
  return Buffer.from(`${[header, ...lines].join("\n")}\n`);
}

/** The records of a blob `encodePathRecords` made with `header`; undefined for any other blob (another format, or damaged). */
export function decodePathRecords(header: string, blob: Buffer): Map<string, string> | undefined {
  const text = blob.toString("utf8");
  if (!text.startsWith(`${header}\n`)) return undefined;
  const records = new Map<string, string>();
  for (let start = header.length + 1; start < text.length; ) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = text.length;
    const quoted = text.charCodeAt(start) === 0x22;
    const tab = text.indexOf("\t", quoted ? quotedEnd(text, start) : start);
    if (tab === -1 || tab > end) return undefined;
    let path = text.slice(start, tab);
    if (quoted) {
      try {
        path = JSON.parse(path) as string;
      } catch {
        return undefined; // damaged: read as no record
      }
    }
    records.set(path, text.slice(tab + 1, end));
    start = end + 1;
  }
  return records;
}

function needsQuoting(path: string): boolean {
  return path.startsWith('"') || path.includes("\t") || path.includes("\n");
}

/** The index just past the JSON string that starts at `start` (the end of the text when it is not closed). */
function quotedEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i + 1;
  }
  return text.length;
}
