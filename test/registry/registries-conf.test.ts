import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { parseReference, withDefaultTag } from "../../oci/reference.js";
import { openRegistryClient } from "../../registry/open-registry-client.js";
import { findRegistryEntry, parseRegistriesConf, readRegistriesConf } from "../../registry/registries-conf.js";
import { pullSources, pushTarget, searchCandidates } from "../../registry/registry-sources.js";
import { withTempDir } from "./registry-test-helpers.js";

const V2 = `
unqualified-search-registries = ["quay.io", "docker.io"]

[[registry]]
prefix = "example.com/team"
location = "internal.lan:5000/mirror/team"

[[registry.mirror]]
location = "cache.lan/team"
insecure = true

[[registry.mirror]]
location = "digests.lan/team"
pull-from-mirror = "digest-only"

[[registry]]
location = "http-only.lan:8080"
insecure = true

[[registry]]
prefix = "*.blocked.example"
blocked = true

[[registry]]
location = "example.com"
`;

const ref = (text: string) => withDefaultTag(parseReference(text));

test("registries.conf v2: the longest prefix covers a name; location and mirrors rewrite it, in order", () => {
  const conf = parseRegistriesConf(V2, "/etc/containers/registries.conf");
  assert.equal(conf.unqualifiedSearchRegistries, ["quay.io", "docker.io"]);
  assert.is(findRegistryEntry(conf, "example.com/team/app")?.prefix, "example.com/team");
  assert.is(findRegistryEntry(conf, "example.com/teamwork/app")?.prefix, "example.com", "a prefix ends at a path boundary");
  assert.is(findRegistryEntry(conf, "a.blocked.example/x")?.prefix, "*.blocked.example");
  assert.is(findRegistryEntry(conf, "docker.io/library/busybox"), undefined);

  const byTag = pullSources(conf, ref("example.com/team/app:1")).map((s) => `${s.domain} ${s.repository} ${s.insecure} ${s.mirror}`);
  assert.equal(byTag, ["cache.lan team/app true true", "internal.lan:5000 mirror/team/app false false"]);
  const byDigest = pullSources(conf, ref(`example.com/team/app@sha256:${"a".repeat(64)}`)).map((s) => s.domain);
  assert.equal(byDigest, ["cache.lan", "digests.lan", "internal.lan:5000"], "a digest-only mirror serves pulls by digest");
  assert.equal(pushTarget(conf, ref("example.com/team/app:1")), { domain: "internal.lan:5000", repository: "mirror/team/app", insecure: false, mirror: false });
  assert.equal(pullSources(conf, ref("busybox")), [{ domain: "docker.io", repository: "library/busybox", insecure: false, mirror: false }]);
  try {
    pullSources(conf, ref("a.blocked.example/x:1"));
    assert.unreachable("a blocked name is refused");
  } catch (error) {
    assert.ok(isTsbuildError(error, "REGISTRY"));
    assert.match((error as Error).message, /^Cannot pull "a\.blocked\.example\/x": registry "\*\.blocked\.example" is blocked in \/etc\/containers\/registries\.conf$/);
  }
});

test("short names are looked for in unqualified-search-registries; others are themselves", () => {
  const conf = parseRegistriesConf(V2, "r.conf");
  assert.equal(searchCandidates(conf, "busybox:1"), ["quay.io/busybox:1", "docker.io/library/busybox:1"]);
  assert.equal(searchCandidates(conf, "team/app"), ["quay.io/team/app", "docker.io/team/app"]);
  assert.equal(searchCandidates(conf, "localhost:5000/app"), ["localhost:5000/app"]);
  assert.equal(searchCandidates(conf, "example.com/app"), ["example.com/app"]);
  assert.equal(searchCandidates(parseRegistriesConf("", "empty.conf"), "busybox"), ["busybox"], "no list: docker.io, as docker");
});

test("registries.conf v1 lists, and files that do not parse or mix the formats, are named in the error", () => {
  const v1 = parseRegistriesConf('[registries.search]\nregistries = ["docker.io"]\n[registries.insecure]\nregistries = ["reg.lan:5000"]\n[registries.block]\nregistries = ["evil.example"]\n', "v1.conf");
  assert.equal(v1.unqualifiedSearchRegistries, ["docker.io"]);
  assert.is(findRegistryEntry(v1, "reg.lan:5000/app")?.insecure, true);
  assert.is(findRegistryEntry(v1, "evil.example/app")?.blocked, true);
  const bad: Array<[string, RegExp]> = [
    ["[[registry]\nlocation = 1", /^Cannot parse "x\.conf": /],
    ['[registries.search]\nregistries = []\n[[registry]]\nlocation = "a"', /mixes the v1 \[registries\.\*\] tables with v2 keys/],
    ["[[registry]]\ninsecure = true", /\[\[registry\]\] #1 has neither prefix nor location/],
    ['[[registry]]\nlocation = "a"\ninsecure = "yes"', /"insecure" is not true or false/],
    ['[[registry]]\nlocation = "a"\n[[registry.mirror]]\ninsecure = true', /mirror #1 of "a" has no location/],
  ];
  for (const [text, pattern] of bad) {
    try {
      parseRegistriesConf(text, "x.conf");
      assert.unreachable(text);
    } catch (error) {
      assert.ok(isTsbuildError(error, "INVALID_CONFIG"), text);
      assert.match((error as Error).message, pattern, text);
    }
  }
});

test("the file read is $CONTAINERS_REGISTRIES_CONF, else the user's, else the system's; its insecure registries are plain HTTP", async () => {
  await withTempDir(async (dir) => {
    const home = join(dir, "home");
    await mkdir(join(home, ".config", "containers"), { recursive: true });
    await writeFile(join(home, ".config", "containers", "registries.conf"), '[[registry]]\nlocation = "user.lan"\ninsecure = true\n');
    await writeFile(join(dir, "named.conf"), '[[registry]]\nlocation = "named.lan:5000"\ninsecure = true\n[[registry]]\nlocation = "off.lan"\nblocked = true\n');
    assert.is((await readRegistriesConf({ env: { HOME: home } })).file, join(home, ".config", "containers", "registries.conf"));
    const env = { HOME: home, CONTAINERS_REGISTRIES_CONF: join(dir, "named.conf") };
    assert.is((await readRegistriesConf({ env })).file, join(dir, "named.conf"));
    assert.equal(await readRegistriesConf({ env: { HOME: home, CONTAINERS_REGISTRIES_CONF: join(dir, "none.conf") } }), { unqualifiedSearchRegistries: [], registries: [] });

    assert.is((await openRegistryClient("named.lan:5000", { env })).endpoint.baseUrl, "http://named.lan:5000");
    assert.is((await openRegistryClient("user.lan", { env })).endpoint.baseUrl, "https://user.lan", "only the named file is read");
    assert.is((await openRegistryClient("env.lan", { env: { ...env, TSBUILD_INSECURE_REGISTRIES: "env.lan" } })).endpoint.baseUrl, "http://env.lan");
    try {
      await openRegistryClient("off.lan", { env });
      assert.unreachable("a blocked registry is refused");
    } catch (error) {
      assert.match((error as Error).message, /registry "off\.lan" is blocked in .*named\.conf/);
    }
  });
});

test.run();
