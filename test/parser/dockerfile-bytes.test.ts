import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeDockerfileBytes, encodeDockerfileText } from "../../parser/dockerfile-bytes.js";
import { dumpAst } from "../../parser/dump.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import { expandWord } from "../../parser/shell-lexer.js";

const dumpOf = (bytes: Buffer) => dumpAst(parseDockerfile(decodeDockerfileBytes(bytes), { file: "Dockerfile" }));

// Dockerfiles with bytes that are not UTF-8, and the dump BuildKit's parser gives for them:
// Go keeps the bytes in its strings and strconv.Quote writes each bad byte as \xNN, while
// valid characters print as themselves; JSON (exec form) decoding turns bad bytes into U+FFFD.
const CASES: Array<[string, Buffer, string]> = [
  ["RUN text", Buffer.from("FROM scratch\nRUN echo \xff\xfe\n", "latin1"), '(from "scratch")\n(run "echo \\xff\\xfe")\n'],
  ["valid and invalid side by side", Buffer.concat([Buffer.from("RUN caf\u00e9 "), Buffer.from([0xe9, 0x0a])]), '(run "café \\xe9")\n'],
  ["a label value", Buffer.from("LABEL k=v\xe9\n", "latin1"), '(label "k" "v\\xe9" "=")\n'],
  ["COPY paths", Buffer.from("COPY a\xe9 /b\xe9\n", "latin1"), '(copy "a\\xe9" "/b\\xe9")\n'],
  ["a truncated sequence and an encoded surrogate", Buffer.from([...Buffer.from("ENV X "), 0xe2, 0x82, 0x20, 0xed, 0xa0, 0x80, 0x0a]), '(env "X" "\\xe2\\x82 \\xed\\xa0\\x80" "")\n'],
  ["exec form", Buffer.from('CMD ["a\xe9"]\n', "latin1"), '(cmd "a\ufffd")\n'],
];

for (const [name, bytes, dump] of CASES) {
  test(`bytes that are not UTF-8 are kept by the parser as BuildKit keeps them: ${name}`, () => {
    assert.is(dumpOf(bytes), dump);
  });
}

test("decoding and encoding give back every byte sequence exactly", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      assert.equal([...encodeDockerfileText(decodeDockerfileBytes(bytes))], [...bytes]);
    }),
    { seed: 14, numRuns: 2000 },
  );
});

test("valid UTF-8 decodes as usual, astral characters included", () => {
  const text = "FROM x\nRUN echo caf\u00e9 \u{1f600}\n";
  assert.is(decodeDockerfileBytes(Buffer.from(text)), text);
  assert.equal(encodeDockerfileText(text), Buffer.from(text));
});

test("word expansion turns each bad byte into U+FFFD, as BuildKit's lexer (text/scanner) does", () => {
  const word = decodeDockerfileBytes(Buffer.from("a\xe9$X", "latin1"));
  assert.is(expandWord(word, { X: "x" }).value, "a\ufffdx");
});

test.run();
