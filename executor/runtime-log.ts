/**
 * Reads the JSON log runc and crun write with `--log FILE --log-format json`: one object per
 * line with `level` and `msg`. Returns the messages of the error entries; lines that are not
 * JSON are kept as they are.
 */
export function runtimeLogMessages(log: string): string[] {
  const messages: string[] = [];
  for (const line of log.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if ((entry.level === "error" || entry.level === "fatal") && typeof entry.msg === "string") messages.push(entry.msg);
    } catch {
      messages.push(line.trim());
    }
  }
  return messages;
}
