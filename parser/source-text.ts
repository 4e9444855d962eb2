import type { SourcePosition, SourceRange } from "./ast.js";

/** Turns offsets into line/column positions for one source text. */
export class SourceText {
  private readonly lineStarts: number[] = [0];

  constructor(readonly text: string) {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.lineStarts.push(i + 1);
  }

  /** The 1-based line, 1-based column (UTF-16 units) and offset of `offset`. */
  position(offset: number): SourcePosition {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.lineStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: offset - this.lineStarts[low] + 1, offset };
  }

  range(start: number, end: number): SourceRange {
    return { start: this.position(start), end: this.position(end) };
  }
}

/**
 * A logical line: physical pieces joined without a separator (continuations), with the
 * source offset of each piece so offsets in the joined text map back to the file.
 */
export class LogicalLine {
  private readonly logicalStarts: number[] = [];
  private readonly sourceStarts: number[] = [];
  private readonly parts: string[] = [];
  private length = 0;
  private joined: string | undefined;

  /** `fallback` is the source offset used while no piece has been appended. */
  constructor(private readonly fallback: number) {}

  /** Appends `text`, which sits at `sourceOffset` in the file. */
  append(text: string, sourceOffset: number): void {
    if (text.length === 0) return;
    this.logicalStarts.push(this.length);
    this.sourceStarts.push(sourceOffset);
    this.parts.push(text);
    this.length += text.length;
    this.joined = undefined;
  }

  get text(): string {
    // Joined once at the end: repeated concatenation over long continuations is slow.
    this.joined ??= this.parts.join("");
    return this.joined;
  }

  /** The source offset of the character at `offset` in the joined text. */
  sourceOffset(offset: number): number {
    if (this.logicalStarts.length === 0) return this.fallback;
    let low = 0;
    let high = this.logicalStarts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.logicalStarts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return this.sourceStarts[low] + (offset - this.logicalStarts[low]);
  }

  /** The source span of `[start, end)` in the joined text. */
  sourceSpan(start: number, end: number): [number, number] {
    const from = this.sourceOffset(start);
    return [from, end > start ? this.sourceOffset(end - 1) + 1 : from];
  }
}
