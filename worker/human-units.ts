/**
 * The units docker's CLI prints (github.com/docker/go-units): decimal sizes ("4.26MB") and
 * rough durations ("2 minutes"), and tabwriter-style tables.
 */

const SIZE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];

/** go-units' HumanSizeWithPrecision: `precision` significant digits, 1000-based units. */
export function humanSize(bytes: number, precision = 4): string {
  let size = bytes;
  let unit = 0;
  while (size >= 1000 && unit < SIZE_UNITS.length - 1) {
    size /= 1000;
    unit++;
  }
  return `${Number(size.toPrecision(precision))}${SIZE_UNITS[unit]}`;
}

/** go-units' HumanDuration: "Less than a second", "About a minute", "3 weeks" ... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return "Less than a second";
  if (seconds === 1) return "1 second";
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return "About a minute";
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return "About an hour";
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(Math.floor(ms / 3_600_000) / 24 / 365)} years`;
}

/** "2 minutes ago" for an ISO time, "N/A" when there is none (as docker prints them). */
export function humanAgo(iso: string | undefined, now: number = Date.now()): string {
  const time = iso === undefined ? NaN : Date.parse(iso);
  if (Number.isNaN(time) || time <= 0) return "N/A";
  return `${humanDuration(Math.max(0, now - time))} ago`;
}

/**
 * Lays rows out as docker's tabwriter does (minimum cell width 10, padding 3): every column
 * but the last padded to its widest cell plus 3.
 */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(Math.max(10, widths[i] + 3)))).join("").trimEnd() + "\n")
    .join("");
}

/** docker's Ellipsis: at most `max` characters, the last three "..." when cut. */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  return chars.slice(0, max - 3).join("") + "...";
}

/** Go's time.Time.String() of an ISO time, in UTC: `2024-01-02 15:04:05 +0000 UTC` (docker's CreatedAt). */
export function goTimeString(iso: string | undefined): string {
  const time = iso === undefined ? NaN : Date.parse(iso);
  if (Number.isNaN(time)) return "0001-01-01 00:00:00 +0000 UTC";
  return `${new Date(time).toISOString().slice(0, 19).replace("T", " ")} +0000 UTC`;
}
