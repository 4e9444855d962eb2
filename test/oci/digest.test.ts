import { createHash } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { Digester, digestHex, digestOf, isDigest, parseDigest, shortDigest } from "../../oci/digest.js";

test("digestOf hashes bytes and UTF-8 text alike", () => {
  const expected = `sha256:${createHash("sha256").update("héllo").digest("hex")}`;
  assert.is(digestOf("héllo"), expected);
  assert.is(digestOf(Buffer.from("héllo", "utf8")), expected);
  assert.is(digestOf(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});

test("a Digester fed in chunks gives the digest and size of the whole", () => {
  const digester = new Digester();
  for (const part of ["ab", "", "cdef"]) digester.update(Buffer.from(part));
  assert.is(digester.size, 6);
  assert.is(digester.digest(), digestOf("abcdef"));
});

test("isDigest accepts only canonical sha256 digests", () => {
  assert.ok(isDigest(digestOf("x")));
  assert.not.ok(isDigest(digestOf("x").toUpperCase()));
  assert.not.ok(isDigest("sha256:abc"));
  assert.not.ok(isDigest(`sha512:${"a".repeat(128)}`));
  assert.not.ok(isDigest(42));
});

test("parseDigest names an unsupported algorithm and a malformed digest differently", () => {
  assert.is(parseDigest(digestOf("x")), digestOf("x"));
  try {
    parseDigest(`sha512:${"a".repeat(128)}`);
    assert.unreachable();
  } catch (error) {
    assert.ok(isTsbuildError(error, "INVALID_REFERENCE"));
    assert.is((error as Error).message, `Invalid digest "sha512:${"a".repeat(128)}": algorithm "sha512" is not supported`);
  }
  try {
    parseDigest("sha256:zz");
    assert.unreachable();
  } catch (error) {
    assert.is((error as Error).message, 'Invalid digest "sha256:zz": expected "sha256:" and 64 lowercase hex digits');
  }
});

test("the hex part and docker's 12-digit short id come from the digest", () => {
  const digest = digestOf("x");
  assert.is(digestHex(digest), digest.slice(7));
  assert.is(shortDigest(digest), digest.slice(7, 19));
  assert.is(shortDigest(digest).length, 12);
});

test.run();
