/** A checked `--chmod` value: an octal mode, or a symbolic one the file op applies. */
export type ChmodSpec = { mode: number } | { symbolic: string };

const SYMBOLIC_CLAUSE = /^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+$/;

/**
 * Checks `--chmod` as BuildKit does: an octal number up to 07777, or a symbolic mode
 * (`u+x`, `go-w,a+r`) in chmod(1) syntax. Gives the reason when it is neither.
 */
export function parseChmod(text: string): { spec: ChmodSpec } | { error: string } {
  const octalError = `invalid chmod parameter: '${text}'. it should be octal string and between 0 and 07777`;
  if (/^[0-9]/.test(text)) {
    // BuildKit tries octal first; any value that starts like a number and is not valid
    // octal gets the octal message, for compatibility.
    if (!/^[0-7]+$/.test(text)) return { error: octalError };
    const mode = parseInt(text, 8);
    return mode > 0o7777 ? { error: octalError } : { spec: { mode } };
  }
  if (text !== "" && text.split(",").every((clause) => SYMBOLIC_CLAUSE.test(clause))) return { spec: { symbolic: text } };
  return { error: `invalid chmod parameter: '${text}'. it should be an octal mode such as 0755 or a symbolic mode such as u+x` };
}
