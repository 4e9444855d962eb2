import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { expandWord, expandWords, MAX_EXPANSION_DEPTH, type ShellEnv, type ShellLexerOptions } from "../../parser/shell-lexer.js";
import { compileShellPattern, findShellPattern, isPatternError } from "../../parser/shell-pattern.js";
import { DockerfileSyntaxError } from "../../parser/syntax-error.js";

const ENV = { PWD: "/home", EMPTY: "", SPACE: "a  b", LEAD: "  x y ", NAME: "world", PATHV: "/usr/local/bin:/usr/bin", é: "accent" };

const word = (input: string, options: ShellLexerOptions = {}, env: ShellEnv = ENV): string => expandWord(input, env, options).value;
const words = (input: string, options: ShellLexerOptions = {}, env: ShellEnv = ENV): string[] => expandWords(input, env, options);

function syntaxError(run: () => unknown): DockerfileSyntaxError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.instance(caught, DockerfileSyntaxError, "expected a DockerfileSyntaxError");
  return caught as DockerfileSyntaxError;
}

// Variables

test("$NAME and ${NAME} expand to the value, an unset name to nothing", () => {
  assert.is(word("he$PWD"), "he/home");
  assert.is(word("he${PWD}xx"), "he/homexx");
  assert.is(word("a${UNSET}b$UNSET"), "ab");
});

test("a name runs over letters, digits and _ (Unicode letters too) and stops elsewhere", () => {
  assert.is(word("$NAME_x"), "");
  assert.is(word("$NAME-x"), "world-x");
  assert.is(word("$NAME.$NAME"), "world.world");
  assert.is(word("$é!"), "accent!");
});

test("a $ that starts no name stays a literal $", () => {
  assert.is(word("$"), "$");
  assert.is(word("a$ b"), "a$ b");
  assert.is(word("he$.x"), "he$.x");
});

test("positional and special parameters are never set", () => {
  assert.is(word("$1x|$999aaa|$001b"), "x|aaa|b");
  assert.is(word("$@@@|$*|$#|$?|$-|$$|$!|$0"), "@@|||||||");
  assert.is(word("${1:-one} ${@:-at} ${#:+no}"), "one at ");
});

// The ${...} forms

test(":- and - choose the word when the variable is unset; :- also when it is empty", () => {
  assert.is(word("${UNSET:-d}|${UNSET-d}|${EMPTY:-d}|${EMPTY-d}|${PWD:-d}"), "d|d|d||/home");
});

test(":+ and + choose the word when the variable is set; :+ only when it is not empty", () => {
  assert.is(word("${UNSET:+w}|${UNSET+w}|${EMPTY:+w}|${EMPTY+w}|${PWD:+w}"), "|||w|w");
});

test("words inside ${...} expand, nest and keep their quotes' meaning", () => {
  assert.is(word("he${UNSET:-${PWD:-yyy}}xx"), "he/homexx");
  assert.is(word("${UNSET:-\"a b\"}"), "a b");
  assert.is(word("${UNSET:-\\$PWD:}"), "$PWD:");
  assert.is(word("${aaa:-bbb {foo}"), "bbb {foo");
  assert.is(word("${aaa}}"), "}");
});

test("? and :? return the value when it is allowed and fail with BuildKit's wording otherwise", () => {
  assert.is(word("${PWD?}${EMPTY?}${PWD:?}"), "/home/home");
  assert.is(syntaxError(() => word("${UNSET?}")).reason, 'failed to process "${UNSET?}": UNSET: is not allowed to be unset');
  assert.is(syntaxError(() => word("${EMPTY:?}")).reason, 'failed to process "${EMPTY:?}": EMPTY: is not allowed to be empty');
  assert.is(syntaxError(() => word("${UNSET:?need $NAME}")).reason, 'failed to process "${UNSET:?need $NAME}": UNSET: need world');
});

test("# and ## remove the shortest and the longest matching prefix", () => {
  assert.is(word("${PWD#/}"), "home");
  assert.is(word("${PATHV#*/}|${PATHV##*/}"), "usr/local/bin:/usr/bin|bin");
  assert.is(word("${PATHV#*:}"), "/usr/bin");
  assert.is(word("${PWD#*}|${PWD##}|${PWD#x}"), "/home|/home|/home");
});

test("% and %% remove the shortest and the longest matching suffix", () => {
  assert.is(word("${PWD%e}"), "/hom");
  assert.is(word("${PATHV%:*}|${PATHV%%:*}"), "/usr/local/bin|/usr/local/bin");
  assert.is(word("${PATHV%/*}|${PATHV%%/*}"), "/usr/local/bin:/usr|");
});

test("/ replaces the first match and // every match, the pattern matching greedily", () => {
  const env = { V: "1.2.3-rc1", P: "/tmp/tmp/bar.txt" };
  assert.is(word("${V/./_}|${V//./_}", {}, env), "1_2.3-rc1|1_2_3-rc1");
  assert.is(word("${P/\\/tmp/} ${P//\\/tmp/}", {}, env), "/tmp/bar.txt /bar.txt");
  assert.is(word("${P/t*p/X}", {}, env), "/X/bar.txt");
  assert.is(word("${V///}|${V/x/y}", {}, env), "1.2.3-rc1|1.2.3-rc1");
});

test("an empty pattern matches at the start for / and between every character for //", () => {
  const env = { V: "ab", E: "" };
  assert.is(word("${V/$E/-}", {}, env), "-ab");
  assert.is(word("${V//$E/-}", {}, env), "-a-b-");
});

test("// follows Go's ReplaceAll: no empty match right after a match", () => {
  // The pattern `*` (Go `.*`) takes all of "ab", and the empty match at the end is skipped.
  assert.is(word("${V//*/-}", {}, { V: "ab" }), "-");
});

test("in a // replacement $0 is the matched text and $$ a dollar; / takes the replacement literally", () => {
  const env = { V: "a.b", R: "<$0>", D: "$$", N: "$name${1}" };
  assert.is(word("${V//./$R}", {}, env), "a<.>b");
  assert.is(word("${V/./$R}", {}, env), "a<$0>b");
  assert.is(word("${V//./$D}|${V//./$N}", {}, env), "a$b|ab");
  // `$0x` names group "0x", which does not exist; `${0}` is the match.
  assert.is(word("${V//./'$0x ${0}'}", {}, env), "a .b");
});

test("patterns: ? is one character, \\* \\? \\\\ are literal and [ ] are not bracket expressions", () => {
  assert.is(word("${V#??}", {}, { V: "abc" }), "c");
  assert.is(word("${V%%\\**}", {}, { V: "xx**" }), "xx");
  assert.is(word("${V#?\\?}", {}, { V: "???y" }), "?y");
  assert.is(word("${V#[ab]}", {}, { V: "[ab]c" }), "c");
  assert.is(word("${V#()[]{\\}^$.\\*\\?|\\\\}", {}, { V: "()[]{}^$.*?|\\x" }), "x");
});

test("patterns: * and ? do not match a line feed, as Go's . does not", () => {
  const env = { V: "a\nb" };
  assert.is(word("${V#*}", {}, env), "a\nb");
  assert.is(word("${V##*}", {}, env), "\nb");
  assert.is(word("${V#a?}", {}, env), "a\nb");
  assert.is(word("${V//?/x}", {}, env), "x\nx");
});

test("patterns: a value that ends in a lone backslash or escapes another character is an invalid pattern", () => {
  const error = syntaxError(() => word("${V#$P}", {}, { V: "x", P: "a\\b" }));
  assert.is(error.reason, `failed to process "\${V#$P}": invalid pattern (a\\b) in substitution: invalid escape '\\b'`);
  assert.match(error.hint ?? "", /may be escaped/);
  // % reverses the pattern first, so BuildKit reports the reversed one.
  assert.match(syntaxError(() => word("${V%$P}", {}, { V: "x", P: "ab\\" })).reason, /invalid pattern \(\\ba\)/);
});

test("patterns keep code points whole, including characters outside the BMP", () => {
  assert.is(word("${V#?}|${V%?}|${V//?/.}", {}, { V: "😀x😀" }), "x😀|😀x|...");
});

// Quotes and escapes

test("single quotes keep everything literal, including the escape token and $", () => {
  assert.is(word("'he${XX}'|'\\$PWD'|'\"hi\"'"), "he${XX}|\\$PWD|\"hi\"");
  assert.is(word("he'll'o"), "hello");
});

test("in double quotes $ expands and the escape token escapes only \", $ and itself", () => {
  assert.is(word('"he\'$PWD\'"'), "he'/home'");
  assert.is(word('"\\$PWD|\\\\$PWD|\\a|\\""'), '$PWD|\\/home|\\a|"');
});

test("outside quotes the escape token escapes any character and a trailing one disappears", () => {
  assert.is(word("abc\\tdef"), "abctdef");
  assert.is(word("hello\\"), "hello");
  assert.is(word("hello\\\\"), "hello\\");
  assert.is(word("C:\\path\\file"), "C:pathfile");
});

test("with the backtick escape token, \\ is an ordinary character and ` escapes", () => {
  const tick: ShellLexerOptions = { escapeToken: "`" };
  assert.is(word("C:\\path\\file", tick), "C:\\path\\file");
  assert.is(word("he`$PWD|``|`", tick), "he$PWD|`|");
  assert.is(word('"a`"b``"', tick), 'a"b`');
  assert.equal(words("a` b c", tick), ["a b", "c"]);
});

test("<< and the blanks after it stay together, and a single < is plain text", () => {
  assert.is(word("cat <<-'EOF' > x"), "cat <<-EOF > x");
  assert.equal(words("cat << EOF a<b"), ["cat", "<< EOF", "a<b"]);
});

test("a byte order mark at the very start of a word is dropped, as Go's scanner drops it", () => {
  assert.is(word("\ufeffa\ufeff"), "a\ufeff");
});

// Word splitting

test("expandWords splits on unquoted whitespace and expanded values, never inside quotes or escapes", () => {
  assert.equal(words("a b  c"), ["a", "b", "c"]);
  assert.equal(words("x${SPACE}y"), ["xa", "by"]);
  assert.equal(words('"${SPACE}" ${LEAD}'), ["a  b", "x", "y"]);
  assert.equal(words("a\\ b 'c d' e\"f g\"h"), ["a b", "c d", "ef gh"]);
  assert.equal(words("hello\\\" there"), ['hello"', "there"]);
});

test("expandWords splits on Unicode spaces the way Go's unicode.IsSpace does", () => {
  assert.equal(words("a\u00a0b\u0085c\u3000d"), ["a", "b", "c", "d"]);
  assert.equal(words("a\ufeffb\u200bc"), ["a\ufeffb\u200bc"]);
});

test("a quoted or expanded empty string yields no word", () => {
  assert.equal(words("''"), []);
  assert.equal(words('a "" ${EMPTY} "${EMPTY}" b'), ["a", "b"]);
});

test("like BuildKit, expandWords drops the start of a word in front of a ${VAR<op>word}", () => {
  // BuildKit empties its shared word buffer when it reads the nested word; expandWord is unaffected.
  assert.equal(words("x a${UNSET:-b}c"), ["x", "bc"]);
  assert.equal(words("a${PWD}c"), ["a/homec"]);
  assert.is(word("a${UNSET:-b}c"), "abc");
});

// Matched and unmatched names

test("matched and unmatched list the names looked up, set or not", () => {
  const result = expandWord("${FOO-aaa} ${BAR-bbb} ${BAZ-ccc} $FOO", { FOO: "xxx", BAR: "" });
  assert.is(result.value, "xxx  ccc xxx");
  assert.equal([...result.matched].sort(), ["BAR", "FOO"]);
  assert.equal([...result.unmatched], ["BAZ"]);
});

test("names behind escapes or single quotes are not looked up", () => {
  const result = expandWord("\\$A '$B' \"\\$C\"", {});
  assert.is(result.matched.size + result.unmatched.size, 0);
});

// Environments

test("an env list splits at the first =, sets a name without = to empty, and the last duplicate wins", () => {
  const env = ["A=1=2", "B", "C=x", "C=y"];
  assert.is(word("$A|${B-unset}|$C|${D-unset}", {}, env), "1=2||y|unset");
});

test("a Map env works, and a plain object does not inherit names like constructor", () => {
  assert.is(word("$A", {}, new Map([["A", "map"]])), "map");
  assert.is(word("${constructor-unset}|${toString-unset}", {}, {}), "unset|unset");
});

// Modes

test("rawQuotes with skipUnsetEnv keeps quotes and leaves unset references as written", () => {
  const mode: ShellLexerOptions = { rawQuotes: true, skipUnsetEnv: true };
  assert.is(word('echo "$UNSET" $NAME \'$NAME\'', mode), 'echo "$UNSET" world \'$NAME\'');
  assert.is(word("${UNSET} ${UNSET:-d} ${UNSET//a/b} ${NAME:-d}", mode), "${UNSET} ${UNSET:-d} ${UNSET/a/b} world");
  // An unsupported form with an unset name is written back too, not refused.
  assert.is(word("${UNSET:=x}", mode), "${UNSET:=x}");
});

test("skipProcessQuotes keeps quotes as text but still expands and consumes escapes", () => {
  const mode: ShellLexerOptions = { skipProcessQuotes: true };
  assert.is(word("echo '$NAME' \"$NAME\" $UNSET", mode), "echo 'world' \"world\" ");
  assert.is(word("it's \\n \\$NAME", mode), "it's n $NAME");
});

test("rawEscapes keeps the escape tokens", () => {
  const mode: ShellLexerOptions = { rawEscapes: true };
  assert.is(word("a\\ b", mode), "a\\ b");
  assert.is(word('"a\\"b"', mode), 'a\\"b');
  assert.is(word("\\$NAME", mode), "\\$NAME");
});

// Errors

test("unterminated quotes fail and point at the opening quote", () => {
  const error = syntaxError(() => word("ab 'cd", { file: "Dockerfile", line: 7 }));
  assert.is(error.reason, `failed to process "ab 'cd": unexpected end of statement while looking for matching single-quote`);
  assert.equal([error.file, error.line, error.column], ["Dockerfile", 7, 4]);
  assert.is(error.code, "DOCKERFILE_SYNTAX");
  assert.is(syntaxError(() => word('"hello\\"')).column, 1);
  assert.is(syntaxError(() => words("hello\" there")).column, 6);
});

test("a ${ without its } fails with missing '}' at the ${", () => {
  for (const input of ["${", "ab${PWD:-x", "${aaa:-bbb ${foo}", "${X:-'abc}"]) {
    const error = syntaxError(() => word(input));
    assert.match(error.reason, /: syntax error: missing '}'$/, input);
    assert.is(error.column, input.indexOf("${") + 1, input);
  }
});

test("${}, ${:...} and ${{...} are bad substitutions; the hint shows how to write a literal ${", () => {
  for (const input of ["${}", "he${}xx", "${:-bbb}", "${{aaa}"]) {
    assert.match(syntaxError(() => word(input)).reason, /: syntax error: bad substitution$/, input);
  }
  assert.match(syntaxError(() => word("${}", { escapeToken: "`" })).hint ?? "", /`\$\{/);
});

test("unsupported forms fail with the modifier BuildKit names, pointing at it, with a hint", () => {
  const cases: [string, string, number][] = [
    ["${PWD:=000}", ":=", 6],
    ["${#PWD}", "P", 4],
    ["${PWD:0:2}", ":0", 6],
    ["${PWD^^}", "^", 6],
    ["${!PWD}", "P", 4],
    ["${FOO=aaa}", "=", 6],
    ["${FOO:#x}", ":#", 6],
    ["${.}", ".", 3],
    ["${PWD", "\ufffd", 1],
  ];
  for (const [input, modifier, column] of cases) {
    const error = syntaxError(() => word(input));
    assert.is(error.reason, `failed to process ${JSON.stringify(input)}: unsupported modifier (${modifier}) in substitution`);
    assert.is(error.column, column, input);
    assert.match(error.hint ?? "", /Supported forms: .*\$\{VAR:-word\}/);
  }
  assert.match(syntaxError(() => word("${#PWD}")).hint ?? "", /^Length/);
});

test("${VAR/...} without its second / fails with BuildKit's message", () => {
  assert.is(syntaxError(() => word("${PWD//ww}")).reason, `failed to process "\${PWD//ww}": syntax error: missing '/' in \${}`);
});

test("an error inside a nested word wins unless the input ended, as in BuildKit", () => {
  assert.match(syntaxError(() => word("${X:-${Y:x}}")).reason, /unsupported modifier \(:x\)/);
  assert.match(syntaxError(() => word("${X:-${UNSET?}")).reason, /missing '}'/);
});

test("columns start from the given column and count UTF-16 code units", () => {
  assert.is(syntaxError(() => word("😀'", { column: 10 })).column, 12);
});

test("substitutions nested deeper than the limit fail cleanly instead of overflowing the stack", () => {
  const deep = "${A:-".repeat(MAX_EXPANSION_DEPTH + 5) + "x" + "}".repeat(MAX_EXPANSION_DEPTH + 5);
  assert.match(syntaxError(() => word(deep)).reason, /nested deeper than/);
  const fine = "${A:-".repeat(200) + "x" + "}".repeat(200);
  assert.is(word(fine), "x");
});

// Robustness

test("random words either expand or throw a DockerfileSyntaxError, never anything else", () => {
  const piece = fc.oneof(
    fc.constantFrom("$", "${", "}", ":", "-", "+", "?", "#", "%", "/", "//", "*", "\\", "`", "'", '"', " ", "<<", "\n"),
    fc.constantFrom("PWD", "EMPTY", "UNSET", "SPACE", "é", "0", "@", "😀", "\ud800"),
    fc.string({ maxLength: 3 }),
  );
  const text = fc.array(piece, { maxLength: 25 }).map((parts) => parts.join(""));
  const options = fc.record({
    escapeToken: fc.constantFrom<"\\" | "`">("\\", "`"),
    rawQuotes: fc.boolean(),
    skipUnsetEnv: fc.boolean(),
    skipProcessQuotes: fc.boolean(),
    rawEscapes: fc.boolean(),
  });
  fc.assert(
    fc.property(text, options, (input, mode) => {
      for (const run of [() => word(input, mode), () => words(input, mode)]) {
        try {
          run();
        } catch (error) {
          if (!(error instanceof DockerfileSyntaxError)) throw error;
        }
      }
    }),
    { seed: 20261122, numRuns: 4000 },
  );
});

test("the pattern matcher finds the same leftmost-first match as a backtracking regex", () => {
  // JavaScript's RegExp has RE2's leftmost-first semantics for these simple patterns; it is
  // only unsafe on large inputs, which this comparison avoids.
  const pattern = fc.array(fc.constantFrom("a", "b", "\n", "*", "?", "\\*"), { maxLength: 6 }).map((p) => p.join(""));
  const text = fc.array(fc.constantFrom("a", "b", "\n", "*", "😀"), { maxLength: 10 }).map((p) => p.join(""));
  fc.assert(
    fc.property(pattern, text, fc.boolean(), fc.boolean(), fc.nat(10), (source, value, anchored, greedy, fromSeed) => {
      const compiled = compileShellPattern(source);
      if (isPatternError(compiled)) return;
      const star = greedy ? "[^\\n]*" : "[^\\n]*?";
      const regexSource = compiled.tokens
        .map((token) => (token === -1 ? star : token === -2 ? "[^\\n]" : String.fromCodePoint(token).replace(/[*?\\]/g, "\\$&")))
        .join("");
      const points = Array.from(value, (char) => char.codePointAt(0) as number);
      const from = fromSeed % (points.length + 1);
      const regex = new RegExp(regexSource, anchored ? "uy" : "ug");
      regex.lastIndex = Array.from(value).slice(0, from).join("").length;
      const found = regex.exec(value);
      const toPoints = (offset: number): number => Array.from(value.slice(0, offset)).length;
      const expected = found === null ? undefined : [toPoints(found.index), toPoints(found.index + found[0].length)];
      assert.equal(findShellPattern(compiled, points, { anchored, greedy, from }), expected, JSON.stringify({ source, value, anchored, greedy, from }));
    }),
    { seed: 7, numRuns: 5000 },
  );
});

test("a 200,000-character word expands in well under a second", () => {
  const unit = "a$NAME ${UNSET:-b} \"${PWD}\" '$x' \\$y ";
  const count = Math.floor(200_000 / unit.length);
  const padding = 200_000 - count * unit.length;
  const input = unit.repeat(count) + "z".repeat(padding);
  const value = "/usr/local/bin:".repeat(20_000);
  const started = performance.now();
  const result = word(input);
  const split = words(input);
  const replaced = word("${V//\\/usr/X} ${V##*:} ${V%%:*} ${V//?/.}", {}, { V: value });
  const elapsed = performance.now() - started;
  // Compared as booleans: a diff of strings this long would take uvu minutes.
  assert.is(input.length, 200_000);
  assert.ok(result === "aworld b /home $x $y ".repeat(count) + "z".repeat(padding), "expandWord result differs");
  assert.is(split.length, 5 * count + 1);
  assert.ok(replaced === `${"X/local/bin:".repeat(20_000)}  /usr/local/bin ${".".repeat(value.length)}`, "pattern results differ");
  assert.ok(elapsed < 2000, `took ${Math.round(elapsed)} ms`);
});

test.run();
