/**
 * The Dockerfile AST: what the parser produces, before any instruction semantics.
 * It mirrors BuildKit's parser nodes (keyword, flags, argument nodes, heredocs) and adds
 * a source range to every piece, so errors and tools can point at the exact text.
 */

/** A point in the source. `line` and `column` are 1-based; `column` counts UTF-16 code units. */
export interface SourcePosition {
  line: number;
  column: number;
  /** 0-based UTF-16 offset into the whole text the parser was given. */
  offset: number;
}

/** A half-open span of source text: `end` is just past the last character. */
export interface SourceRange {
  start: SourcePosition;
  end: SourcePosition;
}

/** A parser directive from the top of the file (`# escape=`, `# syntax=`, `# check=`). */
export interface DirectiveNode {
  /** Lower-cased name. */
  name: "escape" | "syntax" | "check";
  value: string;
  range: SourceRange;
}

/** A flag taken off the front of an instruction's arguments (`--from=build`). */
export interface FlagNode {
  /** The flag word after quote and escape processing, as BuildKit's dump shows it: `--from=build`. */
  raw: string;
  /** The name without the leading dashes: `from`. */
  name: string;
  /** The text after the first `=`, or undefined for a bare `--link`. */
  value: string | undefined;
  range: SourceRange;
}

/** One argument node (`Node.Next` in BuildKit), raw: no variable expansion yet. */
export interface ArgNode {
  value: string;
  /**
   * Where the node came from. For values rebuilt from several pieces (JSON-decoded
   * elements, ENV/LABEL key-value splits, separators) this is the span of the source word.
   */
  range: SourceRange;
}

/** A heredoc attached to a RUN, COPY or ADD instruction. */
export interface HeredocNode {
  /** The terminator word with quotes removed: `EOF`. */
  name: string;
  /** The raw body: every body line with its line ending, not the terminator; not chomped. */
  content: string;
  /** False when the terminator was quoted (`<<'EOF'`, `<<"EOF"`): no expansion in the body. */
  expand: boolean;
  /** True for `<<-`: the consumer strips leading tabs. */
  chomp: boolean;
  /** The file descriptor before `<<` (`3<<EOF`), 0 when none was given. */
  fileDescriptor: number;
  /** The body plus its terminator line. */
  range: SourceRange;
}

/** One instruction: a logical line (continuations joined) plus its heredoc bodies. */
export interface InstructionNode {
  /** The keyword exactly as written (`Run`, `from`). */
  keyword: string;
  /** Its lower-cased form, used for dispatch and the dump. */
  name: string;
  flags: FlagNode[];
  /** Argument nodes in BuildKit's shape for this keyword (see the dump format). */
  args: ArgNode[];
  /** True when the arguments were given in exec (JSON array) form. */
  json: boolean;
  /** For ONBUILD: the wrapped instruction. */
  child?: InstructionNode;
  /**
   * Heredoc bodies, in the order of their openers. For ONBUILD they sit on the outer node
   * as in BuildKit, and the trigger (`child`) shares the same array.
   */
  heredocs: HeredocNode[];
  /**
   * BuildKit's `Original`: the logical line after joining continuations, its first line
   * left-trimmed (`RUN echo hi`). For an ONBUILD trigger, the text after `ONBUILD` and its flags.
   */
  original: string;
  /** Comment lines directly above the instruction (without `#`), for doc comments. */
  comments: string[];
  /**
   * From the first non-blank character of the instruction's first line (the keyword, or a
   * lone escape that starts a continuation) to the end of the last line it consumed:
   * continuation, skipped comment and blank lines, heredoc bodies and terminators included.
   * `range.start.line`/`range.end.line` are BuildKit's StartLine/EndLine. For an ONBUILD
   * trigger, the span of the trigger text.
   */
  range: SourceRange;
  keywordRange: SourceRange;
}

/** A non-fatal finding, such as an empty continuation line. */
export interface ParseWarning {
  /** A stable identifier: `empty-continuation`. */
  code: string;
  message: string;
  range: SourceRange;
}

/** A whole parsed Dockerfile. */
export interface DockerfileAst {
  /** The file name the text came from, for messages (`Dockerfile` when not given). */
  file: string;
  escapeToken: "\\" | "`";
  directives: DirectiveNode[];
  instructions: InstructionNode[];
  warnings: ParseWarning[];
  /** From the first to the last instruction line (BuildKit's root StartLine/EndLine). */
  range: SourceRange;
}
