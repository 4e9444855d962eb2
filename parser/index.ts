/** `tsbuild/parser`: Dockerfile text → AST, and BuildKit's shell-word expansion. */
export { parseDockerfile, parseInstructionLine, type ParseDockerfileOptions } from "./parse-dockerfile.js";
export type { ArgNode, DirectiveNode, DockerfileAst, FlagNode, HeredocNode, InstructionNode, ParseWarning, SourcePosition, SourceRange } from "./ast.js";
export { astToJson, dumpAst } from "./dump.js";
export { expandWord, expandWords, type ExpandResult, type ShellEnv, type ShellLexerOptions } from "./shell-lexer.js";
export { DockerfileSyntaxError, type SyntaxErrorLocation } from "./syntax-error.js";
