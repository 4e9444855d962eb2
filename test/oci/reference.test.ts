import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import {
  familiarString,
  familiarName,
  formatReference,
  normalizeReference,
  parseReference,
  withDefaultTag,
} from "../../oci/reference.js";

const D = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
const F = `sha256:${"f".repeat(64)}`;

// [as typed, full form, familiar form]: docker's normalisation rules, case by case.
const NORMALISED: Array<[string, string, string]> = [
  ["busybox", "docker.io/library/busybox", "busybox"],
  ["busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"],
  ["docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "busybox:latest"],
  ["docker.io/busybox", "docker.io/library/busybox", "busybox"],
  ["index.docker.io/library/debian", "docker.io/library/debian", "debian"],
  ["index.docker.io/docker/docker", "docker.io/docker/docker", "docker/docker"],
  ["library/ubuntu", "docker.io/library/ubuntu", "ubuntu"],
  ["library/foo/bar", "docker.io/library/foo/bar", "library/foo/bar"],
  ["store/foo/bar", "docker.io/store/foo/bar", "store/foo/bar"],
  ["other/library", "docker.io/other/library", "other/library"],
  ["user/img:1.0", "docker.io/user/img:1.0", "user/img:1.0"],
  ["ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base", "ubuntu-12.04-base"],
  ["localhost/x", "localhost/x", "localhost/x"],
  ["localhost:5000/x", "localhost:5000/x", "localhost:5000/x"],
  ["127.0.0.1:5000/a/b:tag", "127.0.0.1:5000/a/b:tag", "127.0.0.1:5000/a/b:tag"],
  ["127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase"],
  ["example.com/private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase"],
  ["example.com:8000/privatebase", "example.com:8000/privatebase", "example.com:8000/privatebase"],
  ["test_com/foo", "docker.io/test_com/foo", "test_com/foo"],
  ["test-com:8080/foo", "test-com:8080/foo", "test-com:8080/foo"],
  ["xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo", "xn--n3h.com:18080/foo"],
  ["xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage:xn--n3h.com"],
  ["[::1]:5000/repo:tag", "[::1]:5000/repo:tag", "[::1]:5000/repo:tag"],
  ["[2001:db8::1]/repo", "[2001:db8::1]/repo", "[2001:db8::1]/repo"],
  ["test.com:5000", "docker.io/library/test.com:5000", "test.com:5000"],
  ["foo_bar.com:8080", "docker.io/library/foo_bar.com:8080", "foo_bar.com:8080"],
  ["foo/foo_bar.com:8080", "docker.io/foo/foo_bar.com:8080", "foo/foo_bar.com:8080"],
  ["192.168.1.1", "docker.io/library/192.168.1.1", "192.168.1.1"],
  ["lowercase:Uppercase", "docker.io/library/lowercase:Uppercase", "lowercase:Uppercase"],
  ["docker---rules/docker", "docker.io/docker---rules/docker", "docker---rules/docker"],
  ["dock__er/docker", "docker.io/dock__er/docker", "dock__er/docker"],
  ["d/docker", "docker.io/d/docker", "d/docker"],
  ["thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "docker.io/library/thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev"],
  [`redis@${D}`, `docker.io/library/redis@${D}`, `redis@${D}`],
  [`busybox:latest@${D}`, `docker.io/library/busybox:latest@${D}`, `busybox:latest@${D}`],
  [`dmcgowan/myapp@${D}`, `docker.io/dmcgowan/myapp@${D}`, `dmcgowan/myapp@${D}`],
  [`test:5000/repo@${F}`, `test:5000/repo@${F}`, `test:5000/repo@${F}`],
  [`test:5000/repo:tag@${F}`, `test:5000/repo:tag@${F}`, `test:5000/repo:tag@${F}`],
  [`a:${"b".repeat(128)}`, `docker.io/library/a:${"b".repeat(128)}`, `a:${"b".repeat(128)}`],
];

for (const [typed, full, familiar] of NORMALISED) {
  test(`"${typed}" normalises to "${full}" and shows as "${familiar}"`, () => {
    const reference = parseReference(typed);
    assert.is(formatReference(reference), full);
    assert.is(familiarString(reference), familiar);
    assert.equal(parseReference(full), reference, "the full form parses to the same reference");
    assert.equal(parseReference(familiar), reference, "the familiar form parses to the same reference");
  });
}

// [input, the part of the message that says why].
const INVALID: Array<[string, string]> = [
  ["", "reference is empty"],
  ["Foo", "repository name must be lowercase"],
  ["Uppercase:tag", "repository name must be lowercase"],
  ["docker/Docker", "repository name must be lowercase"],
  ["docker.io/docker/Docker", "repository name must be lowercase"],
  ["test:5000/Uppercase/lowercase:tag", "repository name must be lowercase"],
  [":justtag", "repository name is empty"],
  [`@${F}`, "repository name is empty"],
  ["name:", "tag is empty"],
  [`a:${"b".repeat(129)}`, "must match"],
  ["a:-tag", "must match"],
  ["a:.tag", "must match"],
  ["-docker", 'path component "-docker"'],
  ["-docker/docker", 'path component "-docker"'],
  ["docker-/docker", 'path component "docker-"'],
  ["____/____", 'path component "____"'],
  ["_docker/_docker", 'path component "_docker"'],
  ["dock..er/docker", 'registry "dock..er"'],
  ["dock_.er/docker", 'registry "dock_.er"'],
  ["dock-.er/docker", 'registry "dock-.er"'],
  ["library/dock..er", 'path component "dock..er"'],
  ["a/b_.c", 'path component "b_.c"'],
  ["docker/", "empty path component"],
  ["docker///docker", "empty path component"],
  ["docker.io/docker///docker", "empty path component"],
  ["a^a", 'path component "a^a"'],
  ["aa/asdf$$^/aa", 'path component "asdf$$^"'],
  ["https://github.com/docker/docker", 'registry "https:"'],
  ["-docker.io/docker/docker", 'registry "-docker.io"'],
  ["[fe80::1%eth0]:5000/repo", 'registry "[fe80::1%eth0]:5000"'],
  ["[2001:db8::1]", "must match"],
  [`${"a/".repeat(128)}a:tag`, "longer than 255 characters"],
  [D.slice(7), "is an image id"],
  ["validname@invaliddigest:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 'algorithm "invaliddigest" is not supported'],
  ["repo@sha256:ffff", "is not \"sha256:\" followed by 64"],
  [`repo@sha256:${"F".repeat(64)}`, "is not \"sha256:\" followed by 64"],
];

for (const [typed, why] of INVALID) {
  test(`"${typed.length > 60 ? typed.slice(0, 60) + "..." : typed}" is an invalid reference (${why})`, () => {
    try {
      parseReference(typed);
    } catch (error) {
      assert.ok(isTsbuildError(error, "INVALID_REFERENCE"), String(error));
      assert.ok((error as Error).message.startsWith(`Invalid reference "${typed}": `), (error as Error).message);
      assert.ok((error as Error).message.includes(why), (error as Error).message);
      return;
    }
    assert.unreachable(`"${typed}" was accepted`);
  });
}

test('the message for "Foo" says exactly what is wrong', () => {
  try {
    parseReference("Foo");
    assert.unreachable();
  } catch (error) {
    assert.is((error as Error).message, 'Invalid reference "Foo": repository name must be lowercase');
  }
});

test("a 64-hex name is accepted only with a registry in front, where it cannot be an image id", () => {
  const hex = D.slice("sha256:".length);
  assert.is(formatReference(parseReference(`docker.io/${hex}`)), `docker.io/library/${hex}`);
});

test("withDefaultTag adds latest only when there is neither tag nor digest", () => {
  assert.is(normalizeReference("busybox"), "docker.io/library/busybox:latest");
  assert.is(normalizeReference("busybox:1.36"), "docker.io/library/busybox:1.36");
  assert.is(formatReference(withDefaultTag(parseReference(`busybox@${D}`))), `docker.io/library/busybox@${D}`);
  assert.is(familiarName(parseReference("docker.io/library/busybox:1")), "busybox");
});

test("a tag and a digest are both kept, and the parts are split as docker splits them", () => {
  assert.equal(parseReference(`localhost:5000/a/b:v1@${D}`), { domain: "localhost:5000", path: "a/b", tag: "v1", digest: D });
  assert.equal(parseReference("busybox"), { domain: "docker.io", path: "library/busybox" });
});

const alnum = fc.stringMatching(/^[a-z0-9]{1,6}$/);
const separator = fc.constantFrom(".", "_", "__", "-", "--");
const pathComponent = fc
  .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 2 }))
  .map(([head, rest]) => head + rest.map(([sep, part]) => sep + part).join(""));
const domain = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom("localhost", "localhost:5000", "example.com", "127.0.0.1:5000", "[::1]:5000", "registry.example.org:443"),
);
const tag = fc.oneof(fc.constant(undefined), fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/));
const digest = fc.oneof(fc.constant(undefined), fc.stringMatching(/^[0-9a-f]{64}$/).map((hex) => `sha256:${hex}`));

test("every reference built from the grammar round-trips through its full and familiar forms", () => {
  fc.assert(
    fc.property(domain, fc.array(pathComponent, { minLength: 1, maxLength: 3 }), tag, digest, (host, path, t, d) => {
      fc.pre(!(host === undefined && path.length === 1 && /^[a-f0-9]{64}$/.test(path[0])));
      // Without a host, a first component with "." would be read as a registry (docker's rule).
      fc.pre(!(host === undefined && path.length > 1 && path[0].includes(".")));
      const text = (host === undefined ? "" : `${host}/`) + path.join("/") + (t === undefined ? "" : `:${t}`) + (d === undefined ? "" : `@${d}`);
      const reference = parseReference(text);
      assert.is(reference.tag, t);
      assert.is(reference.digest, d);
      assert.equal(parseReference(formatReference(reference)), reference);
      assert.equal(parseReference(familiarString(reference)), reference);
      assert.is(normalizeReference(normalizeReference(text)), normalizeReference(text));
    }),
    { numRuns: 2000 },
  );
});

test.run();
