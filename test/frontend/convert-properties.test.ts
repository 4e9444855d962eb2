import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { convert } from "./convert-fixture.js";

const word = fc.constantFrom("a", "b", "$A", "${B:-x}", "src/", "*.txt", "/abs", ".", "\"q w\"", "$UNSET");
const stageRef = fc.constantFrom("s0", "s1", "s2", "0", "1", "alpine:3.19", "scratch");
const line = fc.oneof(
  fc.tuple(word, word).map(([k, v]) => `ENV A=${k} B=${v}`),
  fc.tuple(word).map(([v]) => `ARG A=${v}`),
  fc.constant("ARG B"),
  fc.tuple(word).map(([w]) => `WORKDIR ${w}`),
  fc.tuple(word, word).map(([s, d]) => `COPY ${s} ${d}`),
  fc.tuple(stageRef, word).map(([from, d]) => `COPY --from=${from} /x ${d}`),
  fc.tuple(word).map(([w]) => `RUN echo ${w}`),
  fc.tuple(stageRef, word).map(([from, t]) => `RUN --mount=type=bind,from=${from},target=/m${t.replace(/\W/g, "")} true`),
  fc.tuple(word).map(([t]) => `RUN --mount=type=cache,target=/c/${t.replace(/\W/g, "")} true`),
  fc.constantFrom("RUN <<EOF\necho hi\nEOF", "COPY <<EOF /f\n$A\nEOF", "EXPOSE 80 90-91/udp", 'CMD ["x"]', "ENTRYPOINT run", "USER app", "LABEL l=$A", "ONBUILD RUN x"),
);
const stage = fc.tuple(fc.constantFrom("scratch", "alpine:3.19", "s0", "s1"), fc.array(line, { maxLength: 6 }));
const dockerfile = fc.tuple(fc.array(fc.constantFrom("ARG A=1", "ARG B"), { maxLength: 2 }), fc.array(stage, { minLength: 1, maxLength: 4 })).map(
  ([meta, stages]) => [...meta, ...stages.flatMap(([base, lines], i) => [`FROM ${base} AS s${i}`, ...lines])].join("\n") + "\n",
);

test("any Dockerfile converts to a well-formed graph or fails with a TsbuildError", async () => {
  await fc.assert(
    fc.asyncProperty(dockerfile, fc.option(fc.constantFrom("s0", "s1", "s2")), async (text, target) => {
      let graph;
      try {
        graph = await convert(text, target === null ? {} : { target });
      } catch (error) {
        assert.ok(isTsbuildError(error), `${text}\n${String((error as Error)?.stack ?? error)}`);
        return;
      }
      const ids = new Set<string>();
      for (const vertex of graph.vertices) {
        for (const input of vertex.inputs) assert.ok(ids.has(input), "inputs come first");
        ids.add(vertex.id);
        assert.equal(JSON.parse(JSON.stringify(vertex.definition)), vertex.definition);
      }
      assert.ok(ids.has(graph.output));
      assert.ok(graph.image.config.Env?.some((e) => e.startsWith("PATH=")));
    }),
    { numRuns: 300 },
  );
});

test.run();
