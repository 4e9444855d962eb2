import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { listImages } from "../../worker/list-images.js";
import { unpackImage } from "../../worker/unpack-image.js";
import { openWorker } from "../../worker/worker.js";
import { builtRoot } from "../helpers/repo-root.js";
import { cleanupRoot, mountsUnder } from "../snapshotter/tree-fixtures.js";
import { busyboxTar } from "./worker-fixture.js";

const main = join(builtRoot(), "cli", "main.js");
const KILLS = 30;
const SEED = 0x5eed_2026;

/** mulberry32: a small seeded generator, so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const env = { ...process.env, TSBUILD_SNAPSHOTTER: "overlayfs" };

function tsbuild(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Runs the CLI armed to SIGKILL itself at its `point`-th crash point (util/crash-point.ts), or
 * at its exit if it has fewer: the kill lands at the same place on a fast or a slow machine.
 * Resolves to how the process ended and the point it died at.
 */
async function runAndKill(args: string[], point: number): Promise<{ ended: string; at: string }> {
  const child = spawn(process.execPath, [main, ...args], { env: { ...env, TSBUILD_CRASH_AT: String(point) }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const [code, signal] = (await once(child, "close")) as [number | null, NodeJS.Signals | null];
  return { ended: String(signal ?? code), at: /crash point (\S+)/.exec(stderr)?.[1] ?? `none: ${stderr.trim()}` };
}

test(`${KILLS} SIGKILLs of load, import and rmi at seeded crash points leave a root where every command works and fsck passes`, async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-crash-"));
  try {
    const rootDir = join(dir, "root");
    const root = ["--root", rootDir];
    const tar = await busyboxTar(dir);
    // The archive loaded again and again: an image saved from another root.
    const seedRoot = ["--root", join(dir, "seed")];
    assert.is(tsbuild(["import", tar, "crash/archived:1", ...seedRoot]).status, 0);
    const archive = join(dir, "archived.tar");
    assert.is(tsbuild(["save", "-o", archive, "crash/archived:1", ...seedRoot]).status, 0);
    assert.is(tsbuild(["import", tar, "crash/base:1", ...root]).status, 0);

    const next = random(SEED);
    const kills: string[] = [];
    const names: string[] = ["crash/base:1"];
    for (let i = 0; i < KILLS; i++) {
      const op = ["load", "import", "rmi"][i % 3];
      // Load and import pass a dozen points or more (blob ingests, index and record writes);
      // rmi passes three (its index write, then any blob it frees).
      const point = 1 + Math.floor(next() * (op === "rmi" ? 3 : 12));
      let args: string[];
      if (op === "load") args = ["load", "-i", archive, ...root];
      else if (op === "import") {
        const name = `crash/imported:${i}`;
        names.push(name);
        args = ["import", "-m", `run ${i}`, tar, name, ...root];
      } else {
        const victim = names.splice(Math.floor(next() * names.length), 1)[0] ?? "crash/archived:1";
        args = ["rmi", "-f", victim, ...root];
      }
      const { ended, at } = await runAndKill(args, point);
      assert.is(ended, "SIGKILL", `${op} run ${i} armed at point ${point} ended with ${ended} (${at})`);
      kills.push(`${op}@${at}`);
    }
    // The kills landed inside the work, not only at the exits.
    for (const op of ["load", "import", "rmi"]) {
      assert.ok(kills.some((kill) => kill.startsWith(`${op}@`) && !kill.endsWith("@exit")), `${op} was killed mid-way: ${kills.join(" ")}`);
    }
    for (const point of ["content.ingested", "content.committed", "atomic-file.written", "atomic-file.renamed"]) {
      assert.ok(kills.some((kill) => kill.endsWith(`@${point}`)), `a run was killed at ${point}: ${kills.join(" ")}`);
    }

    // Every command still works, and every listed image is whole.
    const fsck = tsbuild(["fsck", ...root]);
    assert.is(fsck.status, 0, fsck.stdout + fsck.stderr);
    const worker = await openWorker({ root: rootDir, snapshotter: "overlayfs" });
    for (const row of await listImages(worker)) {
      await unpackImage(worker, row.id);
      assert.is(tsbuild(["inspect", row.id, ...root]).status, 0);
      assert.is(tsbuild(["history", row.id, ...root]).status, 0);
    }
    assert.is(tsbuild(["images", ...root]).status, 0);
    assert.is(tsbuild(["import", tar, "crash/after:1", ...root]).status, 0);
    assert.is(tsbuild(["load", "-i", archive, ...root]).stdout, "Loaded image: crash/archived:1\n");
    assert.is(tsbuild(["save", "-o", join(dir, "after.tar"), "crash/after:1", "crash/archived:1", ...root]).status, 0);
    assert.is(tsbuild(["system", "df", ...root]).status, 0);
    const pruned = tsbuild(["prune", "-a", "-f", ...root]);
    assert.is(pruned.status, 0, pruned.stderr);
    assert.is(tsbuild(["images", "-q", ...root]).stdout, "");
    assert.is(tsbuild(["fsck", ...root]).status, 0);
    // With every image gone, so is every unpacked layer, ingest file and blob.
    const keys: string[] = [];
    await (await worker.snapshotter()).walk((info) => void keys.push(info.key));
    assert.equal(keys, []);
    assert.equal(await readdir(worker.store.paths.ingest), []);
    assert.equal(await readdir(worker.store.paths.blobs), []);
    assert.equal(await readdir(join(rootDir, "tmp")), [], "the staging directories of killed runs are gone");
    assert.equal(await mountsUnder(dir), []);
  } finally {
    await cleanupRoot(dir);
  }
});

test.run();
