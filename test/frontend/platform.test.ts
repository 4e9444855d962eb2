import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatPlatform, parsePlatform } from "../../frontend/platform.js";

const HOST = { os: "linux", architecture: "amd64" };

// containerd's platforms.Parse and Normalize, as BuildKit applies them to --platform.
const cases: [string, string | undefined][] = [
  ["linux/amd64", "linux/amd64"],
  ["linux/x86_64", "linux/amd64"],
  ["Linux/AMD64", "linux/amd64"],
  ["linux/aarch64", "linux/arm64"],
  ["linux/arm64/v8", "linux/arm64"],
  ["linux/arm", "linux/arm/v7"],
  ["linux/arm/6", "linux/arm/v6"],
  ["linux/armhf", "linux/arm/v7"],
  ["linux/i386", "linux/386"],
  ["arm64", "linux/arm64"],
  ["linux", "linux/amd64"],
  ["windows/amd64", "windows/amd64"],
  ["linux/amd64/v2/extra", undefined],
  ["linux//amd64", undefined],
  ["linux/am d64", undefined],
];

for (const [text, expected] of cases) {
  test(`--platform=${text} is ${expected ?? "not a platform"}`, () => {
    const platform = parsePlatform(text, HOST);
    assert.is(platform && formatPlatform(platform), expected);
  });
}

test.run();
