import * as assert from "uvu/assert";
import type { DockerfileAst } from "../../parser/ast.js";
import { dumpAst } from "../../parser/dump.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";

/** Joins lines with "\n" and a final newline: Dockerfiles written inline as arrays of lines. */
export function lines(...text: string[]): string {
  return `${text.join("\n")}\n`;
}

/** The BuildKit dump of `text`. */
export function dumpOf(text: string): string {
  return dumpAst(parseDockerfile(text));
}

export function parse(text: string): DockerfileAst {
  return parseDockerfile(text, { file: "Dockerfile" });
}

/** Parses `text`, asserts it fails with a DockerfileSyntaxError, and returns the error. */
export function syntaxErrorOf(text: string): DockerfileSyntaxError {
  try {
    parseDockerfile(text, { file: "Dockerfile" });
  } catch (error) {
    assert.instance(error, DockerfileSyntaxError);
    return error as DockerfileSyntaxError;
  }
  assert.unreachable("the parse should have failed");
  throw new Error("unreachable");
}
