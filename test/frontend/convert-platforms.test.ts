import { test } from "uvu";
import * as assert from "uvu/assert";
import { convertDockerfile } from "../../frontend/convert-dockerfile.js";
import type { BuildGraph, ImageConfigResolver } from "../../frontend/graph.js";
import { parseInstructions } from "../../frontend/instructions/parse-instructions.js";
import { formatPlatform, type PlatformSpec } from "../../frontend/platform.js";
import type { ImageConfig } from "../../oci/image-types.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import { PIN, alpineConfig, execs, vertexById } from "./convert-fixture.js";

const AMD64: PlatformSpec = { os: "linux", architecture: "amd64" };
const ARM64: PlatformSpec = { os: "linux", architecture: "arm64" };

/** A resolver that answers every image with a config of the platform asked for, and records what it was asked. */
function platformResolver(): ImageConfigResolver & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async resolveImageConfig(ref, { platform }) {
      calls.push(`${ref} ${formatPlatform(platform)}`);
      const config: ImageConfig = { ...alpineConfig(), architecture: platform.architecture, os: platform.os };
      if (platform.variant !== undefined) config.variant = platform.variant;
      return { ref: `${ref}@${PIN}`, config };
    },
  };
}

async function convertFor(text: string, target: PlatformSpec | undefined, buildArgs: Record<string, string> = {}): Promise<BuildGraph & { calls: string[] }> {
  const ast = parseDockerfile(text, { file: "Dockerfile" });
  const resolver = platformResolver();
  const graph = await convertDockerfile(parseInstructions(ast), {
    resolver,
    file: "Dockerfile",
    platform: AMD64,
    buildArgs,
    ...(target === undefined ? {} : { targetPlatform: target }),
  });
  return { ...graph, calls: resolver.calls };
}

test("TARGET* args name the target platform and BUILD* the host's, as BuildKit sets them", async () => {
  const graph = await convertFor(
    "FROM alpine\nARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT\nRUN echo\n",
    { os: "linux", architecture: "arm", variant: "v7" },
  );
  const env = execs(graph)[0].definition.env;
  for (const expected of ["TARGETPLATFORM=linux/arm/v7", "TARGETOS=linux", "TARGETARCH=arm", "TARGETVARIANT=v7", "BUILDPLATFORM=linux/amd64", "BUILDOS=linux", "BUILDARCH=amd64", "BUILDVARIANT="]) {
    assert.ok(env.includes(expected), expected);
  }
});

test("a stage without --platform is for the target platform: its base, its RUNs and the image config", async () => {
  const graph = await convertFor("FROM alpine\nRUN make\n", ARM64);
  assert.equal(graph.calls, ["docker.io/library/alpine:latest linux/arm64"]);
  assert.is(execs(graph)[0].definition.platform, "linux/arm64");
  assert.is(graph.image.architecture, "arm64");
  const base = vertexById(graph, execs(graph)[0].inputs[0]).definition;
  assert.equal(base, { op: "source", kind: "image", ref: `docker.io/library/alpine:latest@${PIN}`, platform: "linux/arm64" });
});

test("FROM --platform=$BUILDPLATFORM runs natively while the image is for the target", async () => {
  const graph = await convertFor(
    "FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETARCH\nRUN GOARCH=$TARGETARCH go build\nFROM alpine\nCOPY --from=build /app /app\n",
    ARM64,
  );
  assert.equal(graph.calls.sort(), ["docker.io/library/alpine:latest linux/arm64", "docker.io/library/golang:latest linux/amd64"]);
  const run = execs(graph)[0];
  assert.is(run.definition.platform, "linux/amd64");
  assert.ok(run.definition.env.includes("TARGETARCH=arm64"));
  assert.is(graph.image.architecture, "arm64");
});

test("FROM base-${TARGETARCH} picks the stage named for the target's architecture", async () => {
  const text = "FROM alpine AS base-amd64\nRUN echo amd\nFROM alpine AS base-arm64\nRUN echo arm\nFROM base-${TARGETARCH}\nRUN echo final\n";
  const arm = await convertFor(text, ARM64);
  assert.equal(execs(arm).map((v) => v.name), ["[base-arm64 2/2] RUN echo arm", "[stage-2 1/1] RUN echo final"]);
  const amd = await convertFor(text, AMD64);
  assert.equal(execs(amd).map((v) => v.name), ["[base-amd64 2/2] RUN echo amd", "[stage-2 1/1] RUN echo final"]);
});

test("a scratch stage is keyed by its platform, and is for FROM --platform's platform when given", async () => {
  const arm = await convertFor("FROM scratch\nCOPY a /a\n", ARM64);
  const amd = await convertFor("FROM scratch\nCOPY a /a\n", AMD64);
  const scratchOf = (graph: BuildGraph) => graph.vertices.find((v) => v.definition.op === "source" && v.definition.kind === "scratch")?.definition;
  assert.equal(scratchOf(arm), { op: "source", kind: "scratch", platform: "linux/arm64" });
  assert.equal(scratchOf(amd), { op: "source", kind: "scratch", platform: "linux/amd64" });
  const pinned = await convertFor("FROM --platform=linux/arm/v7 scratch\nCOPY a /a\n", ARM64);
  assert.equal(scratchOf(pinned), { op: "source", kind: "scratch", platform: "linux/arm/v7" });
  assert.is(pinned.image.architecture, "arm");
  assert.is(pinned.image.variant, "v7");
});

test("without a target platform, everything is for the build platform", async () => {
  const graph = await convertFor("FROM alpine\nARG TARGETARCH\nRUN echo $TARGETARCH\n", undefined);
  assert.is(execs(graph)[0].definition.platform, "linux/amd64");
  assert.ok(execs(graph)[0].definition.env.includes("TARGETARCH=amd64"));
});

test.run();
