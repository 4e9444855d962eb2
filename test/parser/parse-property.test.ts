import { existsSync } from "node:fs";
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { DockerfileAst, SourceRange } from "../../parser/ast.js";
import { astToJson, dumpAst } from "../../parser/dump.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";

// Any input either parses or throws DockerfileSyntaxError, quickly. Seeded, so a failure
// reproduces; fast-check prints the seed and the shrunk counterexample.
const SEED = 20261122;
/** Per input: generous for a 2-core machine, far below what a quadratic pass would take. */
const TIME_LIMIT_MS = 2000;

const SNIPPETS = [
  "# syntax=docker/dockerfile:1\n",
  "# escape=`\n",
  "# check=skip=all\n",
  "\ufeff",
  "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\n",
  "ARG A B=1 C=\"two words\" D=''\n",
  "ENV A=1 B=\"x y\" C=x\\ y\n",
  "ENV LEGACY value with spaces\n",
  "LABEL \"com.example\"=\"ACME\" version=1.0\n",
  "RUN apt-get update \\\n  # comment\n    && apt-get install -y curl \\\n\n    && rm -rf /var/lib/apt/lists/*\n",
  "RUN --mount=type=cache,target=/root/.cache --network=none make\n",
  "COPY --from=build --chown=1:1 --exclude=\"*.md\" /src /dst\n",
  "COPY -- --weird /dst\n",
  "RUN <<EOF\necho hello\nEOF\n",
  "RUN <<EOF1 3<<'EOF2' sh\nbody1\nEOF1\n$x\nEOF2\n",
  "COPY <<-EOT /etc/x\n\tkey=value\n\tEOT\n",
  "ONBUILD RUN <<EOF\necho onbuild\nEOF\n",
  "ONBUILD --foo COPY . /app\n",
  "CMD [\"a\", \"b\"]\n",
  "CMD [\"a\", 1]\n",
  "ENTRYPOINT [\"caf\\u00e9\", \"x\"] trailing\n",
  "HEALTHCHECK --interval=30s CMD curl -f http://localhost/ || exit 1\n",
  "HEALTHCHECK NONE\n",
  "EXPOSE 80/tcp 443\n",
  "VOLUME [\"/data\"]\n",
  "SHELL [\"powershell\", \"-Command\"]\n",
  "WORKDIR C:\\app\\\n",
  "RUN echo a `\n  b\n",
  "RUN echo a\\\\\n",
  "USER app:app\n",
  "STOPSIGNAL SIGQUIT\n",
  "FOOBAR a b\n",
  "MAINTAINER Jane <j@x>\n",
  "\r\n",
  "   \t\n",
];

const ALPHABET = [
  "\\", "`", '"', "'", "<<", "<<-", "[", "]", "{", "}", "$", "${", "=", "--", "-", "#", " ", "\t", "\r", "\n",
  "\r\n", "\ufeff", "\u00a0", "\u0085", "\u2028", "\u3000", "\v", "\f", "\x00", "é", "😀", "\ud800", "\udc00",
  "EOF", "RUN ", "FROM x\n", "ONBUILD ", "CMD ", "ENV ", "ARG ", "LABEL ", "COPY ", "HEALTHCHECK ", ",", "1", "a",
];

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ALPHABET) },
  { weight: 2, arbitrary: fc.constantFrom(...SNIPPETS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 4 }) },
);

/** Edits applied to a real snippet: insert, delete, duplicate, or a long run of one piece. */
const mutation = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: piece }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("run" as const),
      at: fc.nat(),
      text: fc.constantFrom("a", " ", "\\", "\\\n", "<<", "[", "\"", "\t", "é", "\n"),
      // Mostly modest runs, sometimes past the 65535-byte line limit.
      count: fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 50, max: 3000 }) }, { weight: 1, arbitrary: fc.constantFrom(21845, 32768, 65535, 65536, 70000) }),
    }),
  },
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(text: string, edits: Mutation[]): string {
  let out = text;
  for (const edit of edits) {
    const at = out.length === 0 ? 0 : edit.at % (out.length + 1);
    if (edit.kind === "insert") out = out.slice(0, at) + edit.text + out.slice(at);
    else if (edit.kind === "delete") out = out.slice(0, at) + out.slice(at + edit.length);
    else if (edit.kind === "duplicate") out = out.slice(0, at + edit.length) + out.slice(at, at + edit.length) + out.slice(at + edit.length);
    else out = out.slice(0, at) + edit.text.repeat(edit.count) + out.slice(at);
  }
  return out;
}

const mutatedDockerfile = fc
  .tuple(fc.array(fc.constantFrom(...SNIPPETS), { minLength: 1, maxLength: 8 }), fc.array(mutation, { maxLength: 6 }))
  .map(([snippets, edits]) => mutate(snippets.join(""), edits));

const randomDockerfile = fc.array(piece, { maxLength: 40 }).map((pieces) => pieces.join(""));

function rangeIsInside(range: SourceRange, length: number): boolean {
  const { start, end } = range;
  return start.offset >= 0 && start.offset <= end.offset && end.offset <= length && start.line >= 1 && start.column >= 1;
}

/** What must hold of any AST: ranges inside the text, a dump and a plain JSON form. */
function checkAst(ast: DockerfileAst, text: string): void {
  for (const instruction of ast.instructions) {
    assert.ok(rangeIsInside(instruction.range, text.length), "instruction range inside the text");
    for (const part of [...instruction.flags, ...instruction.args, ...instruction.heredocs]) {
      assert.ok(rangeIsInside(part.range, text.length), "flag, argument and heredoc ranges inside the text");
    }
  }
  const dump = dumpAst(ast);
  assert.ok(dump.endsWith("\n"));
  assert.is(dump.split("\n").length - 1, ast.instructions.length, "one dump line per instruction");
  JSON.stringify(astToJson(ast));
}

function parsesOrThrowsSyntaxError(text: string): void {
  const started = performance.now();
  try {
    checkAst(parseDockerfile(text), text);
  } catch (error) {
    if (!(error instanceof DockerfileSyntaxError)) throw error;
    assert.ok(error.line >= 1 && error.column >= 1, "errors carry a location");
    assert.ok(!error.reason.includes("\n"), "the reason is one line");
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < TIME_LIMIT_MS, `parsing ${text.length} characters took ${elapsed.toFixed(0)} ms`);
}

test("7,000 mutated real Dockerfile snippets each parse or throw DockerfileSyntaxError", () => {
  fc.assert(fc.property(mutatedDockerfile, parsesOrThrowsSyntaxError), { seed: SEED, numRuns: 7000 });
});

test("4,000 random Dockerfile-ish texts each parse or throw DockerfileSyntaxError", () => {
  fc.assert(fc.property(randomDockerfile, parsesOrThrowsSyntaxError), { seed: SEED + 1, numRuns: 4000 });
});

test("parsing is deterministic: the same text gives the same dump", () => {
  fc.assert(
    fc.property(mutatedDockerfile, (text) => {
      let first: string | undefined;
      try {
        first = dumpAst(parseDockerfile(text));
      } catch {
        return;
      }
      assert.is(dumpAst(parseDockerfile(text)), first);
    }),
    { seed: SEED + 2, numRuns: 300 },
  );
});

// The shell-word expander lives beside the parser; when it is there, random words go
// through it too and may only fail with the project's syntax or expansion errors.
const lexerPath = new URL("../../parser/shell-lexer.js", import.meta.url);
type Expander = {
  expandWord(word: string, env: string[], options: { escapeToken: "\\" | "`"; file: string }): { value: string };
  expandWords(word: string, env: string[], options: { escapeToken: "\\" | "`"; file: string }): string[];
};

test("random words through the shell-word expander expand or throw a syntax or expansion error", async () => {
  if (!existsSync(lexerPath)) return;
  const lexer = (await import(lexerPath.href)) as Partial<Expander>;
  if (typeof lexer.expandWord !== "function" || typeof lexer.expandWords !== "function") return;
  const { expandWord, expandWords } = lexer as Expander;
  const env = ["A=1", "EMPTY=", "SPACE=a b", "PWD=/home"];
  const word = fc.array(fc.oneof(fc.constantFrom("$", "${", "}", ":-", ":+", ":?", "#", "%", "/", "A", "EMPTY", "UNSET", "'", '"', "\\", "`", " ", "x", "é"), fc.string({ maxLength: 3 })), { maxLength: 20 }).map((parts) => parts.join(""));
  fc.assert(
    fc.property(word, fc.constantFrom<"\\" | "`">("\\", "`"), (text, escapeToken) => {
      for (const run of [() => expandWord(text, env, { escapeToken, file: "<word>" }), () => expandWords(text, env, { escapeToken, file: "<word>" })]) {
        try {
          run();
        } catch (error) {
          if (!(error instanceof DockerfileSyntaxError)) throw error;
        }
      }
    }),
    { seed: SEED + 3, numRuns: 3000 },
  );
});

test.run();
