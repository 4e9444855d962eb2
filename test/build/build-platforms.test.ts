import { test } from "uvu";
import * as assert from "uvu/assert";
import { convertForPlatforms, parseBuildPlatforms } from "../../build/build-platforms.js";
import { convertDockerfile } from "../../frontend/convert-dockerfile.js";
import type { ImageConfigResolver } from "../../frontend/graph.js";
import { parseInstructions } from "../../frontend/instructions/parse-instructions.js";
import type { PlatformSpec } from "../../frontend/platform.js";
import { parseDockerfile } from "../../parser/parse-dockerfile.js";
import { PIN, alpineConfig } from "../frontend/convert-fixture.js";

const AMD64: PlatformSpec = { os: "linux", architecture: "amd64" };

// Every image exists for every platform, with a config saying which.
const resolver: ImageConfigResolver = {
  async resolveImageConfig(ref, { platform }) {
    return { ref: `${ref}@${PIN}`, config: { ...alpineConfig(), architecture: platform.architecture } };
  },
};

function convertAll(text: string, targets: PlatformSpec[]) {
  const instructions = parseInstructions(parseDockerfile(text, { file: "Dockerfile" }));
  return convertForPlatforms(targets, (targetPlatform) => convertDockerfile(instructions, { resolver, file: "Dockerfile", platform: AMD64, targetPlatform }));
}

test("--platform takes one platform, a comma-separated list or a list, normalised, each once", () => {
  assert.equal(parseBuildPlatforms(undefined).targets, [{ os: "linux", architecture: "amd64" }]);
  assert.equal(parseBuildPlatforms("linux/aarch64").targets, [{ os: "linux", architecture: "arm64" }]);
  assert.equal(parseBuildPlatforms("linux/amd64, linux/arm/v7,linux/x86_64").targets, [
    { os: "linux", architecture: "amd64" },
    { os: "linux", architecture: "arm", variant: "v7" },
  ]);
  assert.equal(parseBuildPlatforms(["linux/amd64", "linux/arm64"]).targets.length, 2);
  assert.throws(() => parseBuildPlatforms("linux/amd64,"), /Cannot parse flag "--platform": "" is not a platform/);
  assert.throws(() => parseBuildPlatforms("linux/arm64/v8/extra"), /"linux\/arm64\/v8\/extra" is not a platform/);
});

test("one platform: its graph as the frontend made it, names without a platform", async () => {
  const graphs = await convertAll("FROM alpine\nRUN make\n", [{ os: "linux", architecture: "arm64" }]);
  assert.is(graphs.platforms.length, 1);
  assert.is(graphs.merged, graphs.platforms[0].graph);
  assert.ok(graphs.merged.vertices.some((vertex) => vertex.name === "[2/2] RUN make"));
});

test("several platforms: one graph, names and stages say their platform, a native stage that does not read TARGETARCH is shared", async () => {
  const text = [
    "FROM --platform=$BUILDPLATFORM alpine AS tools",
    "RUN make tools",
    "ARG TARGETARCH",
    "RUN make app-$TARGETARCH",
    "FROM alpine",
    "COPY --from=tools /app /app",
    "",
  ].join("\n");
  const graphs = await convertAll(text, [AMD64, { os: "linux", architecture: "arm64" }]);
  const names = graphs.merged.vertices.filter((vertex) => vertex.definition.op !== "source").map((vertex) => vertex.name);
  assert.equal(names, [
    "[linux/amd64 tools 2/3] RUN make tools",
    "[linux/amd64 tools 3/3] RUN make app-amd64",
    "[linux/amd64 stage-1 2/2] COPY --from=tools /app /app",
    "[linux/amd64 tools 3/3] RUN make app-arm64",
    "[linux/arm64 stage-1 2/2] COPY --from=tools /app /app",
  ]);
  const shared = graphs.merged.vertices.find((vertex) => vertex.name === "[linux/amd64 tools 2/3] RUN make tools")!;
  for (const { graph } of graphs.platforms) assert.ok(graph.vertices.includes(shared), "each platform's graph holds the shared step");
  assert.is(shared.stage, "linux/amd64 tools");
  assert.equal(graphs.outputs, graphs.platforms.map(({ graph }) => graph.output));
  assert.equal(graphs.platforms.map(({ graph }) => graph.image.architecture), ["amd64", "arm64"]);
  // Every vertex's inputs come before it, in the merged graph and in each platform's.
  for (const graph of [graphs.merged, ...graphs.platforms.map((platform) => platform.graph)]) {
    const seen = new Set<string>();
    for (const vertex of graph.vertices) {
      for (const input of vertex.inputs) assert.ok(seen.has(input), `${vertex.name} after its inputs`);
      seen.add(vertex.id);
    }
  }
});

test.run();
