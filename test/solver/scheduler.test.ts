import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { digestOf, type Digest } from "../../oci/digest.js";
import { BuildFailure } from "../../solver/build-failure.js";
import type { CacheMap, CacheMapContext, ExecuteContext, MissExplainer, Operation, ResultCache, ScheduledVertex } from "../../solver/operation.js";
import { schedule } from "../../solver/scheduler.js";
import type { ProgressEvent } from "../../solver/types.js";

// The scheduler over fake operations: no root, no files, no processes. A result is a string
// naming what made it, so a test can see which inputs each step was given.

interface FakeBehaviour {
  /** Part of the key; vertices with the same definition and inputs share a key. */
  definition?: string;
  /** Not a cached step but a source. */
  source?: boolean;
  /** Waits for this before finishing. */
  gate?: (context: ExecuteContext) => Promise<void>;
  fail?: Error;
  /** Its content key, from its inputs' results. */
  contentKey?: (inputs: readonly string[]) => Digest | undefined;
  /** What it gives; default `id(inputs)`. */
  output?: (inputs: readonly string[]) => string;
}

class FakeOp implements Operation<string> {
  readonly cached: boolean;
  readonly contentKey?: (context: ExecuteContext, inputs: readonly string[]) => Promise<Digest | undefined>;
  keyed = 0;
  runs = 0;
  readonly #id: string;
  readonly #behaviour: FakeBehaviour;
  readonly #log: string[];

  constructor(id: string, behaviour: FakeBehaviour, log: string[]) {
    this.#id = id;
    this.#behaviour = behaviour;
    this.#log = log;
    this.cached = behaviour.source !== true;
    const contentKey = behaviour.contentKey;
    if (contentKey !== undefined) this.contentKey = async (_context, inputs) => contentKey(inputs);
  }

  async cacheMap(context: CacheMapContext): Promise<CacheMap> {
    this.keyed += 1;
    return { key: digestOf(`${this.#behaviour.definition ?? this.#id}\n${context.inputKeys.join("\n")}`), components: { definition: this.#behaviour.definition ?? this.#id, inputs: [...context.inputKeys], inputNames: [], files: [] } };
  }

  async execute(context: ExecuteContext, inputs: readonly string[]): Promise<string> {
    this.runs += 1;
    this.#log.push(`start ${this.#id}`);
    await this.#behaviour.gate?.(context);
    if (this.#behaviour.fail !== undefined) throw this.#behaviour.fail;
    this.#log.push(`end ${this.#id}`);
    return this.#behaviour.output?.(inputs) ?? `${this.#id}(${inputs.join(",")})`;
  }
}

class MapCache implements ResultCache<string> {
  readonly entries = new Map<Digest, string>();
  async lookup(key: Digest): Promise<string | undefined> {
    return this.entries.get(key);
  }
  async peek(key: Digest): Promise<string | undefined> {
    return this.entries.get(key);
  }
  async save(keys: readonly Digest[], result: string): Promise<string> {
    for (const key of keys) this.entries.set(key, result);
    return result;
  }
}

/** A graph of fake operations: `[id, inputs, behaviour]`, inputs first. */
function graph(spec: Array<[string, string[], FakeBehaviour?]>) {
  const log: string[] = [];
  const ops = new Map<string, FakeOp>();
  const vertices: ScheduledVertex<string>[] = spec.map(([id, inputs, behaviour = {}]) => {
    const op = new FakeOp(id, behaviour, log);
    ops.set(id, op);
    return { id, name: `[${id}]`, location: undefined, inputs, op, ignoreCache: false };
  });
  return { vertices, ops, log };
}

/** A promise and its resolver: one side waits on an event the other side makes happen. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

test("identical vertices run once and the second is reported cached", async () => {
  const { vertices, ops } = graph([
    ["base", [], { source: true }],
    ["a", ["base"], { definition: "make" }],
    ["b", ["base"], { definition: "make" }],
    ["out", ["a", "b"]],
  ]);
  const solved = await schedule({ vertices, output: "out", cache: new MapCache(), concurrency: 4 });
  assert.is(ops.get("a")!.runs + ops.get("b")!.runs, 1, "one of the twins ran");
  assert.is(solved.results.get("out"), solved.results.get("a") === "a(base())" ? "out(a(base()),a(base()))" : "out(b(base()),b(base()))");
  const statuses = solved.steps.filter((step) => step.vertex === "a" || step.vertex === "b").map((step) => step.status).sort();
  assert.equal(statuses, ["cached", "done"]);
});

test("several outputs (one per platform) are solved side by side, a step they share once; a dry run plans them all", async () => {
  const amd = signal();
  const arm = signal();
  const { vertices, ops } = graph([
    ["tools", [], { definition: "native tools" }],
    // Each platform's step waits until the other's has started: only solving both outputs at once finishes.
    ["amd64", ["tools"], { gate: async () => (arm.fire(), amd.promise) }],
    ["arm64", ["tools"], { gate: async () => (amd.fire(), arm.promise) }],
  ]);
  const cache = new MapCache();
  const plan = await schedule({ vertices, output: ["amd64", "arm64"], cache, dryRun: true });
  assert.equal(plan.steps.map((step) => step.vertex), ["tools", "amd64", "arm64"]);
  assert.is(ops.get("tools")!.runs + ops.get("amd64")!.runs + ops.get("arm64")!.runs, 0, "a dry run runs nothing");
  const solved = await schedule({ vertices, output: ["amd64", "arm64"], cache, concurrency: 2 });
  assert.is(solved.results.get("amd64"), "amd64(tools())");
  assert.is(solved.results.get("arm64"), "arm64(tools())");
  assert.is(ops.get("tools")!.runs, 1);
});

test("independent branches run side by side", async () => {
  const left = signal();
  const right = signal();
  const { vertices, log } = graph([
    // Each branch waits until the other has started: only running side by side finishes.
    ["left", [], { gate: async () => (right.fire(), left.promise) }],
    ["right", [], { gate: async () => (left.fire(), right.promise) }],
    ["out", ["left", "right"]],
  ]);
  const solved = await schedule({ vertices, output: "out", cache: new MapCache(), concurrency: 2 });
  assert.is(solved.results.get("out"), "out(left(),right())");
  assert.equal(log.slice(0, 2).sort(), ["start left", "start right"]);
});

test("a failure fails the build at its step, cancels the steps in flight, and runs nothing above it", async () => {
  const slowStarted = signal();
  let slowSawAbort = false;
  const { vertices, ops } = graph([
    ["slow", [], { gate: async (context) => {
      slowStarted.fire();
      await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
      slowSawAbort = true;
    } }],
    ["broken", [], { gate: () => slowStarted.promise, fail: new Error("exit status 2") }],
    ["after", ["broken"]],
    ["out", ["slow", "after"]],
  ]);
  const events: ProgressEvent[] = [];
  const error = await schedule({ vertices, output: "out", cache: new MapCache(), concurrency: 2, onProgress: (event) => events.push(event) }).catch((e: unknown) => e);
  assert.instance(error, BuildFailure);
  assert.is((error as BuildFailure).step.vertex, "broken");
  assert.match((error as Error).message, "exit status 2");
  assert.ok(slowSawAbort, "the step in flight saw the abort");
  assert.is(ops.get("after")!.runs, 0);
  assert.is(ops.get("out")!.runs, 0);
  assert.equal(events.filter((event) => event.type === "vertex-failed").map((event) => "vertex" in event && event.vertex), ["broken"], "only the cause is reported failed");
});

test("the caller's abort cancels the build and its reason is kept in the error", async () => {
  const started = signal();
  const abort = new AbortController();
  const { vertices, ops } = graph([
    ["long", [], { gate: async (context) => {
      started.fire();
      await new Promise<void>((resolve) => context.signal.addEventListener("abort", () => resolve(), { once: true }));
      throw new Error("killed");
    } }],
    ["out", ["long"]],
  ]);
  const run = schedule({ vertices, output: "out", cache: new MapCache(), signal: abort.signal });
  await started.promise;
  abort.abort("deploy superseded");
  const error = await run.catch((e: unknown) => e);
  assert.ok(isTsbuildError(error, "CANCELLED"), String(error));
  assert.match((error as Error).message, "deploy superseded");
  assert.is(((error as Error).cause as Error).cause, "deploy superseded");
  assert.is(ops.get("out")!.runs, 0);
});

test("a cached output runs nothing and looks no further down than it must", async () => {
  const first = graph([
    ["base", [], { source: true }],
    ["compile", ["base"]],
    ["test", ["compile"]],
  ]);
  const cache = new MapCache();
  await schedule({ vertices: first.vertices, output: "test", cache });
  const again = graph([
    ["base", [], { source: true }],
    ["compile", ["base"]],
    ["test", ["compile"]],
  ]);
  const solved = await schedule({ vertices: again.vertices, output: "test", cache });
  assert.equal([...again.ops.values()].map((op) => op.runs), [0, 0, 0], "nothing ran, not even the source");
  assert.equal(solved.steps.map((step) => `${step.vertex} ${step.status}`), ["compile cached", "test cached"]);
  assert.is(solved.results.get("test"), "test(compile(base()))");
});

test("keys are worked out only for what the output needs, each once", async () => {
  const { vertices, ops } = graph([
    ["base", [], { source: true }],
    ["used", ["base"]],
    ["unused", ["base"]],
    ["out", ["used", "used"]],
  ]);
  await schedule({ vertices, output: "out", cache: new MapCache() });
  assert.is(ops.get("unused")!.keyed, 0);
  assert.is(ops.get("used")!.keyed, 1);
  assert.is(ops.get("base")!.keyed, 1);
});

test("--no-cache runs a cached step, and what is under a cached step when it asks to", async () => {
  const cache = new MapCache();
  await schedule({ ...graph([["a", []], ["b", ["a"]]]), output: "b", cache });
  const again = graph([["a", []], ["b", ["a"]]]);
  again.vertices[0].ignoreCache = true;
  const solved = await schedule({ vertices: again.vertices, output: "b", cache });
  assert.is(again.ops.get("a")!.runs, 1, "the ignored step ran under a cached one");
  assert.is(again.ops.get("b")!.runs, 0);
  assert.equal(solved.steps.map((step) => `${step.vertex} ${step.status}`), ["a done", "b cached"]);
});

test("a step whose input rebuilt to the same content is served by its content key, and so are the steps after it", async () => {
  const cache = new MapCache();
  const contentKey = (inputs: readonly string[]) => digestOf(`copy of ${inputs.join()}`);
  const steps = (version: string) =>
    graph([
      ["source", [], { definition: version, output: () => "same files" }],
      ["copy", ["source"], { contentKey }],
      ["after", ["copy"]],
    ]);
  await schedule({ vertices: steps("v1").vertices, output: "after", cache });
  const second = steps("v2");
  const solved = await schedule({ vertices: second.vertices, output: "after", cache });
  assert.is(second.ops.get("source")!.runs, 1, "the changed input rebuilt");
  assert.is(second.ops.get("copy")!.runs, 0, "the step reading it did not");
  assert.is(second.ops.get("after")!.runs, 0, "nor the step after that");
  assert.equal(solved.steps.map((step) => `${step.vertex} ${step.status}`), ["source done", "copy cached", "after cached"]);
  assert.is(solved.results.get("after"), "after(copy(same files))");
});

test("a dry run says what would run and why, and runs nothing", async () => {
  const cache = new MapCache();
  await schedule({ ...graph([["a", []], ["b", ["a"]]]), output: "b", cache });
  const changed = graph([["a", []], ["b2", ["a"], { definition: "b changed" }], ["c", ["b2"]]]);
  const explainer: MissExplainer = {
    explain: async (id) => ({ kind: "no-record", message: `${id} is new` }),
    record: async () => undefined,
  };
  const plan = await schedule({ vertices: changed.vertices, output: "c", cache, explainer, dryRun: true });
  assert.equal([...changed.ops.values()].map((op) => op.runs), [0, 0, 0]);
  assert.equal(plan.steps.map((step) => `${step.vertex} ${step.status} ${step.missReason?.message ?? ""}`.trim()), ["a cached", "b2 would-run b2 is new", "c would-run c is new"]);
});

test.run();
