import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseChmod } from "../../frontend/chmod.js";

const accepted: [string, unknown][] = [
  ["755", { mode: 0o755 }],
  ["0644", { mode: 0o644 }],
  ["7777", { mode: 0o7777 }],
  ["0", { mode: 0 }],
  ["u+x", { symbolic: "u+x" }],
  ["go-w,a+r", { symbolic: "go-w,a+r" }],
  ["=rwx", { symbolic: "=rwx" }],
  ["u=g", { symbolic: "u=g" }],
  ["a+X", { symbolic: "a+X" }],
];

for (const [text, spec] of accepted) {
  test(`--chmod=${text} is accepted`, () => {
    assert.equal(parseChmod(text), { spec });
  });
}

for (const text of ["8", "10000", "0x1ff", "u+q", "x+r", "u", "", "u+x,"]) {
  test(`--chmod=${JSON.stringify(text)} is refused`, () => {
    assert.ok("error" in parseChmod(text));
  });
}

test.run();
