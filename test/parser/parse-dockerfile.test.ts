import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseDockerfile, parseInstructionLine } from "../../parser/parse-dockerfile.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";
import { dumpOf, lines, parse, syntaxErrorOf } from "./dockerfile-test-helpers.js";

test("continuation lines are joined without a separator and keep their indentation", () => {
  assert.is(dumpOf(lines("FROM x", "RUN echo hello \\", "  world", "RUN echo goodbye\\", "frog")), lines(
    '(from "x")',
    '(run "echo hello   world")',
    '(run "echo goodbyefrog")',
  ));
});

test("comment lines inside a continuation are dropped, a # later in a line is kept", () => {
  assert.is(dumpOf(lines("FROM x", "RUN a \\", "  # gone", "  b # kept")), lines('(from "x")', '(run "a   b # kept")'));
});

test("a whitespace-only line inside a continuation is dropped with a warning", () => {
  const ast = parse(lines("FROM x", "RUN a \\", "   ", "  b"));
  assert.equal(ast.warnings.map((w) => [w.code, w.message]), [["empty-continuation", "Empty continuation line found in: RUN a   b"]]);
  assert.is(ast.instructions[1].range.end.line, 4);
});

test("a doubled or tripled escape at the end of a line is not a continuation", () => {
  assert.is(dumpOf(lines("FROM x", "RUN a\\\\", "RUN b\\\\\\", "RUN c")), lines('(from "x")', '(run "a\\\\\\\\")', '(run "b\\\\\\\\\\\\")', '(run "c")'));
});

test("an escape followed by blanks still continues the line", () => {
  assert.is(dumpOf(lines("FROM x", "RUN a \\ \t", "b")), lines('(from "x")', '(run "a b")'));
});

test("a continuation at the end of the file ends the instruction", () => {
  assert.is(dumpOf("FROM x\nRUN a \\"), lines('(from "x")', '(run "a")'));
});

test("CRLF line endings and a BOM parse like LF", () => {
  assert.is(dumpOf("\ufeffFROM x\r\nRUN a \\\r\n  b\r\n"), lines('(from "x")', '(run "a   b")'));
});

test("the escape directive switches the escape to a backtick, making backslashes literal", () => {
  const ast = parse(lines("# escape=`", "FROM x", "COPY . C:\\app\\", "RUN a `", "  b"));
  assert.is(ast.escapeToken, "`");
  assert.equal(ast.directives.map((d) => [d.name, d.value, d.range.start.line]), [["escape", "`", 1]]);
  assert.is(dumpOf(lines("# escape=`", "FROM x", "COPY . C:\\app\\", "RUN a `", "  b")), lines('(from "x")', '(copy "." "C:\\\\app\\\\")', '(run "a   b")'));
});

test("directives after a blank line, a plain comment or an instruction are plain comments", () => {
  assert.is(parse(lines("", "# escape=`", "FROM x")).escapeToken, "\\");
  assert.is(parse(lines("# hello", "# escape=`", "FROM x")).escapeToken, "\\");
  assert.is(parse(lines("FROM x", "# escape=`", "RUN a")).escapeToken, "\\");
  assert.equal(parse(lines("# syntax=a", "# check=skip=all", "FROM x")).directives.map((d) => d.name), ["syntax", "check"]);
});

test("a repeated directive and an unknown escape token are errors at their line", () => {
  const repeated = syntaxErrorOf(lines("# escape=`", "# escape=\\", "FROM x"));
  assert.is(repeated.reason, "only one escape parser directive can be used");
  assert.is(repeated.line, 2);
  const invalid = syntaxErrorOf(lines("# escape=x", "FROM x"));
  assert.is(invalid.reason, "invalid escape token 'x' does not match ` or \\");
  assert.ok(invalid.hint);
});

test("flags are split off every instruction, with quotes and escapes processed", () => {
  assert.is(
    dumpOf(lines("FROM x", `COPY --from=build --exclude="*.txt" --label='a b' src /dst`, "FOO --x --y=1 a b", "COPY src --chown=1 /dst")),
    lines('(from "x")', '(copy ["--from=build" "--exclude=*.txt" "--label=a b"] "src" "/dst")', '(foo ["--x" "--y=1"] "")', '(copy "src" "--chown=1" "/dst")'),
  );
});

test("a bare -- ends the flags and is dropped", () => {
  assert.is(dumpOf(lines("FROM x", "COPY --a=1 -- --b /dst", "CMD --doit -- [ ]")), lines('(from "x")', '(copy ["--a=1"] "--b" "/dst")', '(cmd ["--doit"])'));
});

test("flag nodes carry their name, value and source range", () => {
  const [flag, link] = parse(lines("FROM x", "COPY --chown=1:2 --link a b")).instructions[1].flags;
  assert.equal([flag.raw, flag.name, flag.value], ["--chown=1:2", "chown", "1:2"]);
  assert.equal([link.name, link.value], ["link", undefined]);
  assert.equal([flag.range.start.line, flag.range.start.column, flag.range.end.column], [2, 6, 17]);
});

test("exec form is JSON; invalid JSON quietly falls back to the shell form", () => {
  const ast = parse(lines("FROM x", `CMD ["a", "b"]`, `CMD ['a']`, `CMD ["a",]`, "CMD []", `ENTRYPOINT ["caf\\u00e9"]`));
  assert.equal(ast.instructions.slice(1).map((i) => [i.json, i.args.map((a) => a.value)]), [
    [true, ["a", "b"]],
    [false, ["['a']"]],
    [false, ['["a",]']],
    [true, []],
    [true, ["café"]],
  ]);
});

test("a JSON array with a non-string element is an error at the array", () => {
  const error = syntaxErrorOf(lines("FROM x", `CMD ["a", 1]`));
  assert.is(error.reason, "when using JSON array syntax, arrays must be comprised of strings only");
  assert.equal([error.line, error.column], [2, 5]);
  assert.ok(error.hint);
});

test("ENV and LABEL take the legacy form and the name=value form as three nodes a pair", () => {
  assert.is(
    dumpOf(lines("FROM x", "ENV A 1 2  3", `ENV B=1 C="x y" D=x\\ y`, "LABEL a=b")),
    lines('(from "x")', '(env "A" "1 2  3" "")', '(env "B" "1" "=" "C" "\\"x y\\"" "=" "D" "x\\\\ y" "=")', '(label "a" "b" "=")'),
  );
});

test("ENV without a value and a word without = are errors with the word's column", () => {
  const noValue = syntaxErrorOf(lines("FROM x", "ENV PATH"));
  assert.is(noValue.reason, "ENV must have two arguments");
  assert.is(noValue.line, 2);
  const noEquals = syntaxErrorOf(lines("FROM x", "ENV A=1 B"));
  assert.is(noEquals.reason, `Syntax error - can't find = in "B". Must be of the form: name=value`);
  assert.equal([noEquals.line, noEquals.column], [2, 9]);
});

test("NBSP separates ENV words but not FROM or EXPOSE words", () => {
  assert.is(dumpOf(lines("FROM a b\u00a0c", "EXPOSE 80\u00a0 81", "ARG a\u00a0b")), lines('(from "a" "b\\u00a0c")', '(expose "80\\u00a0" "81")', '(arg "a" "b")'));
});

test("ARG words keep quotes and are not split at =", () => {
  assert.is(dumpOf(lines(`ARG abc="123 456" def`, "FROM x")), lines(`(arg "abc=\\"123 456\\"" "def")`, '(from "x")'));
});

test("string instructions keep the whole rest as one value; unknown ones dump an empty value", () => {
  assert.is(dumpOf(lines("FROM x", "WORKDIR /a b", "USER  app  ", "FOOBAR a b", "RUN")), lines('(from "x")', '(workdir "/a b")', '(user "app")', '(foobar "")', "(run)"));
});

test("ONBUILD wraps its trigger, each keeping its own flags", () => {
  const ast = parse(lines("FROM x", "ONBUILD --foo RUN --mount=x y", "onbuild add [\"a\", \"b\"]"));
  assert.is(dumpOf(lines("FROM x", "ONBUILD --foo RUN --mount=x y", "onbuild add [\"a\", \"b\"]")), lines('(from "x")', '(onbuild ["--foo"] (run ["--mount=x"] "y"))', '(onbuild (add "a" "b"))'));
  const trigger = ast.instructions[1].child;
  assert.ok(trigger);
  assert.equal([trigger.name, trigger.original, trigger.range.start.column], ["run", "RUN --mount=x y", 15]);
  assert.is(ast.instructions[2].child?.json, true);
});

test("HEALTHCHECK keeps its type word and parses the rest like CMD", () => {
  assert.is(
    dumpOf(lines("FROM x", "HEALTHCHECK NONE", "HEALTHCHECK --interval=5s CMD curl -f x", `HEALTHCHECK CMD ["a", "b"]`)),
    lines('(from "x")', '(healthcheck "NONE")', '(healthcheck ["--interval=5s"] "CMD" "curl -f x")', '(healthcheck "CMD" "a" "b")'),
  );
});

test("heredoc bodies are attached raw and the dump shows only the first line", () => {
  const text = lines("FROM x", "RUN <<EOF1 3<<'EOF2' sh", "# kept", "", "EOF1", "$raw\r", "EOF2", "CMD after");
  const ast = parse(text);
  assert.is(dumpOf(text), lines('(from "x")', `(run "<<EOF1 3<<'EOF2' sh")`, '(cmd "after")'));
  const run = ast.instructions[1];
  assert.equal(run.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp, h.fileDescriptor]), [
    ["EOF1", "# kept\n\n", true, false, 0],
    ["EOF2", "$raw\r\n", false, false, 3],
  ]);
  assert.equal([run.range.start.line, run.range.end.line], [2, 7]);
  assert.equal([run.heredocs[1].range.start.line, run.heredocs[1].range.end.line], [6, 7]);
});

test("<<- lets the terminator be indented with tabs and keeps the body unchomped", () => {
  const heredoc = parse(lines("FROM x", "COPY <<-EOT /etc/x", "\tkey=value", "\tEOT")).instructions[1].heredocs[0];
  assert.equal([heredoc.content, heredoc.chomp], ["\tkey=value\n", true]);
});

test("heredocs are read for RUN, COPY, ADD and ONBUILD triggers, not for CMD or the exec form", () => {
  assert.is(dumpOf(lines("FROM x", "CMD <<EOF", "EOF", `RUN ["<<EOF"]`)), lines('(from "x")', '(cmd "<<EOF")', '(eof "")', '(run "<<EOF")'));
  const onbuild = parse(lines("FROM x", "ONBUILD RUN <<EOF", "echo hi", "EOF")).instructions[1];
  assert.equal(onbuild.heredocs.map((h) => h.content), ["echo hi\n"]);
  assert.equal(onbuild.child?.heredocs.map((h) => h.name), ["EOF"]);
});

test("<<- followed by a space is not a heredoc, << followed by a space is", () => {
  assert.is(dumpOf(lines("FROM x", "RUN <<- EOF", "echo hi", "EOF")), lines('(from "x")', '(run "<<- EOF")', '(echo "")', '(eof "")'));
  assert.equal(parse(lines("FROM x", "RUN << EOF", "hi", "EOF")).instructions[1].heredocs.map((h) => h.name), ["EOF"]);
});

test("an unterminated heredoc is an error whose hint names the terminator", () => {
  const error = syntaxErrorOf(lines("FROM x", "RUN <<END", "echo hi"));
  assert.is(error.reason, "unterminated heredoc");
  assert.equal([error.line, error.endLine], [2, 3]);
  assert.match(error.hint ?? "", '"END"');
});

test("a file without instructions is an error", () => {
  assert.is(syntaxErrorOf("").reason, "file with no instructions");
  assert.is(syntaxErrorOf(lines("# only a comment", "", "   ")).reason, "file with no instructions");
});

test("a line longer than 65535 bytes is an error; 65535 bytes are accepted", () => {
  assert.is(syntaxErrorOf(`FROM x\nLABEL a=${"b".repeat(65536 - 8)}\n`).reason, "dockerfile line greater than max allowed size of 65535");
  assert.is(parse(`FROM x\nLABEL a=${"b".repeat(65535 - 8)}\n`).instructions.length, 2);
  assert.is(syntaxErrorOf(`FROM x\nLABEL a=${"é".repeat(32764)}\n`).line, 2);
  assert.is(syntaxErrorOf(`\ufeffLABEL a=${"b".repeat(65535 - 8 - 2)}\n`).line, 1, "the BOM counts towards the first line");
});

test("comments directly above an instruction are its doc comments", () => {
  const ast = parse(lines("# syntax=x", "# stage doc", "FROM x", "#", "# cleared above", "RUN a"));
  assert.equal(ast.instructions.map((i) => i.comments), [["stage doc"], ["cleared above"]]);
});

test("instruction, keyword and argument ranges point into continued lines", () => {
  const ast = parse(lines("FROM x", "  RUN a \\", "    b"));
  const run = ast.instructions[1];
  assert.equal([run.range.start.line, run.range.start.column, run.range.end.line, run.range.end.column], [2, 3, 3, 6]);
  assert.equal([run.keywordRange.start.column, run.keywordRange.end.column], [3, 6]);
  const arg = run.args[0];
  assert.equal([arg.range.start.line, arg.range.start.column, arg.range.end.line, arg.range.end.column], [2, 7, 3, 6]);
  assert.equal([ast.range.start.line, ast.range.end.line], [1, 3]);
  assert.is(run.original, "RUN a     b");
});

test("ENV pair nodes point at their key, value and equals sign", () => {
  const [key, value, sep] = parse(lines("FROM x", "ENV NAME=value")).instructions[1].args;
  assert.equal([key.range.start.column, key.range.end.column, value.range.start.column, value.range.end.column, sep.range.start.column], [5, 9, 10, 15, 9]);
});

test("every error is a DockerfileSyntaxError with the file name in its message", () => {
  try {
    parseDockerfile("FROM x\nENV A", { file: "build/Dockerfile.dev" });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, DockerfileSyntaxError);
    assert.is((error as DockerfileSyntaxError).message, "build/Dockerfile.dev:2:5: ENV must have two arguments");
  }
});

test("parseInstructionLine parses one instruction and rejects more", () => {
  const cmd = parseInstructionLine(`CMD ["nginx", "-g", "daemon off;"]`);
  assert.equal([cmd.name, cmd.json, cmd.args.map((a) => a.value)], ["cmd", true, ["nginx", "-g", "daemon off;"]]);
  assert.throws(() => parseInstructionLine("CMD a\nRUN b"), (error: unknown) => error instanceof DockerfileSyntaxError);
});

test("a long continuation and a long line parse in linear time", () => {
  const started = performance.now();
  const many = `FROM x\nRUN a${" \\\n  && b".repeat(50000)}\n`;
  assert.is(parse(many).instructions[1].range.end.line, 50002);
  parse(`FROM x\nENV ${"a=b ".repeat(16000)}\n`);
  parse(`FROM x\nRUN ${"<<".repeat(30000)}\n`);
  assert.ok(performance.now() - started < 5000, "took too long");
});

test.run();
