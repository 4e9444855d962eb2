import { PassThrough } from "node:stream";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Chalk } from "chalk";
import { PlainProgress } from "../../cli/progress/plain-progress.js";
import { TtyProgress } from "../../cli/progress/tty-progress.js";
import type { OperationProgress, ProgressEvent } from "../../solver/types.js";

// The export and push phases count their work in bytes: each view shows bytes done and total.
const phase = (progress: OperationProgress): ProgressEvent => ({ type: "phase-progress", phase: "export", name: "exporting to image", progress });

function collect(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = "";
  out.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
  return { out, text: () => text };
}

test("plain: a byte count is a status line of its phase, and the last one says done", () => {
  const { out, text } = collect();
  const view = new PlainProgress(out, { warnings: true });
  view.event(phase({ id: "exporting to image", action: "start", current: 0, unit: "items" }));
  view.event(phase({ id: "exporting layers", action: "diff", current: 55_940_000, unit: "bytes" }));
  view.event(phase({ id: "exporting layers", action: "diff", current: 215_100_000, total: 215_100_000, unit: "bytes", done: true }));
  const lines = text().split("\n");
  assert.is(lines[0], "#1 exporting to image");
  assert.match(lines[1], /^#1 exporting layers 55\.94MB \d+\.\ds$/);
  assert.match(lines[2], /^#1 exporting layers 215\.1MB \/ 215\.1MB \d+\.\ds done$/);
  assert.is(lines.length, 4, text());
});

test("tty: the phase's byte counts are drawn under it", () => {
  const { out, text } = collect();
  const view = new TtyProgress(out, new Chalk({ level: 0 }), { warnings: true });
  view.event(phase({ id: "exporting to image", action: "start", current: 0, unit: "items" }));
  view.event(phase({ id: "exporting layers", action: "diff", current: 3_000_000, total: 3_001_024, unit: "bytes", done: true }));
  view.finish({ names: [], imageId: "sha256:0123456789abcdef", durationMs: 10 });
  assert.match(text(), / => => exporting layers 3MB \/ 3\.001MB\n/);
});

test.run();
