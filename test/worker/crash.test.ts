import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SnapshotMetadata } from "../../snapshotter/snapshot-metadata.js";
import { listImages } from "../../worker/list-images.js";
import { unpackImage } from "../../worker/unpack-image.js";
import { openWorker } from "../../worker/worker.js";
import { filesContaining } from "../helpers/files-containing.js";
import { builtRoot } from "../helpers/repo-root.js";
import { runAndKill } from "../helpers/run-and-kill.js";
import { seededRandom } from "../helpers/seeded-random.js";
import { cleanupRoot, mountsUnder } from "../snapshotter/tree-fixtures.js";
import { busyboxTar } from "./worker-fixture.js";

const main = join(builtRoot(), "cli", "main.js");
const KILLS = 100;
const SEED = 0x5eed_2026;

function tsbuild(args: string[], env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** How many crash points each operation passes (measured), so a seeded point lands inside it. */
const POINTS = { build: 100, import: 12, commit: 12, rmi: 4, save: 5, load: 37 } as const;
type Op = keyof typeof POINTS;
/** Where a build step can die: its bundle written, its sandbox's first output, a file copied, a mount, a commit, a layer half written. */
const BUILD_POINTS = ["executor.bundle-written", "executor.output", "copy.file", "snapshotter.mounted", "snapshotter.committed", "layer-writer.partial"];
const OPS: Op[] = ["build", "build", "build", "import", "commit", "rmi", "save", "load"];

/** What a killed process could leave in `dir` (its root and TMPDIR) beyond `baseline` mounts. */
async function leftovers(dir: string, baseline: ReadonlySet<string>): Promise<string[]> {
  const root = join(dir, "root");
  const found: string[] = [];
  for (const point of await mountsUnder(dir)) if (!baseline.has(point)) found.push(`mount ${point}`);
  for (const sub of ["executor", "tmp", "runtime/runc", "runtime/crun", "content/ingest"]) {
    for (const name of await readdir(join(root, sub)).catch(() => [] as string[])) found.push(`${sub}/${name}`);
  }
  for (const name of await readdir(join(dir, "tmp"))) found.push(`TMPDIR/${name}`);
  for (const record of await new SnapshotMetadata(join(root, "snapshots")).list()) {
    if (record.labels["tsbuild.owner"] !== undefined) found.push(`snapshot ${record.key} (${record.kind})`);
  }
  return found;
}

test(`${KILLS} SIGKILLs of build, import, commit, rmi, save and load at seeded crash points: after each, one command leaves nothing behind and fsck passes; afterwards every command works and gives the same digests`, async () => {
  const dir = await mkdtemp(join(tmpdir(), "tsbuild-crash-"));
  try {
    await mkdir(join(dir, "tmp"));
    const env: NodeJS.ProcessEnv = { ...process.env, TSBUILD_SNAPSHOTTER: "overlayfs", TSBUILD_ROOT: join(dir, "root"), TMPDIR: join(dir, "tmp"), SOURCE_DATE_EPOCH: "1700000000" };
    const ok = (args: string[]) => {
      const result = tsbuild(args, env);
      assert.is(result.status, 0, `tsbuild ${args.join(" ")}: ${result.stdout}${result.stderr}`);
      return result.stdout;
    };
    const tar = await busyboxTar(dir);
    // The archive loaded again and again: an image saved from another root.
    const seedEnv = { ...env, TSBUILD_ROOT: join(dir, "seed") };
    assert.is(tsbuild(["import", tar, "crash/archived:1"], seedEnv).status, 0);
    const archive = join(dir, "archived.tar");
    assert.is(tsbuild(["save", "-o", archive, "crash/archived:1"], seedEnv).status, 0);
    const context = join(dir, "context");
    await mkdir(join(context, "dir"), { recursive: true });
    for (let i = 0; i < 8; i++) await writeFile(join(context, "dir", `f${i}`), `file ${i}\n`.repeat(1000));
    await writeFile(join(dir, "secret"), "crash-secret-value");
    await writeFile(
      join(context, "Dockerfile"),
      "FROM busybox\nCOPY dir/ /dir/\nRUN --mount=type=secret,id=s cat /run/secrets/s /dir/* | wc -c | tee /length\n",
    );
    const build = ["build", "--no-cache", "--progress", "plain", "--secret", `id=s,src=${join(dir, "secret")}`, "-t", "crash/built:1", context];

    ok(["import", tar, "crash/base:1"]);
    ok(["tag", "crash/base:1", "busybox:latest"]);
    ok([...build.slice(0, 1), "--iidfile", join(dir, "ref.iid"), ...build.slice(1)]);
    const builtId = await readFile(join(dir, "ref.iid"), "utf8");
    ok(["save", "-o", join(dir, "ref.tar"), "crash/built:1"]);
    const savedDigest = createHash("sha256").update(await readFile(join(dir, "ref.tar"))).digest("hex");
    ok(["run", "--name", "cc", "busybox:latest", "sh", "-c", "echo changed > /changed"]);
    const layerOf = (image: string) => (JSON.parse(ok(["inspect", image])) as Array<{ RootFS: { Layers: string[] } }>)[0].RootFS.Layers.at(-1);
    ok(["commit", "cc", "crash/committed:0"]);
    const committedLayer = layerOf("crash/committed:0");
    ok(["import", tar, "crash/imported:0"]);
    const importedLayer = layerOf("crash/imported:0");
    // A stopped container may keep its rootfs mounted: that one is not a leftover.
    const baseline = new Set(await mountsUnder(dir));

    const next = seededRandom(SEED);
    const kills: string[] = [];
    let namedKills = 0;
    const names: string[] = ["crash/imported:0", "crash/committed:0"];
    for (let i = 0; i < KILLS; i++) {
      const op = OPS[Math.floor(next() * OPS.length)];
      // Half the builds die at a named point of a step (mid-COPY, mid-RUN ...), the rest anywhere.
      // Taken in turn, so each is hit whatever the seed.
      const named = op === "build" && next() < 0.5;
      const point = named ? BUILD_POINTS[namedKills++ % BUILD_POINTS.length] : 1 + Math.floor(next() * POINTS[op]);
      let args: string[];
      if (op === "build") args = build;
      else if (op === "import" || op === "commit") {
        const name = `crash/${op}ed:${i + 1}`;
        names.push(name);
        args = op === "import" ? ["import", tar, name] : ["commit", "cc", name];
      } else if (op === "rmi") {
        args = ["rmi", "-f", names.splice(Math.floor(next() * names.length), 1)[0] ?? "crash/archived:1"];
      } else if (op === "save") {
        args = ["save", "-o", join(dir, "out.tar"), "crash/built:1"];
      } else {
        args = ["load", "-i", archive];
      }
      const { ended, at, stderr } = await runAndKill(args, point, env);
      assert.is(ended, "SIGKILL", `${op} run ${i} armed at point ${point} ended with ${ended} (${at})`);
      // An rmi may name an image whose import was killed before it was recorded; nothing else may fail.
      if (at === "exit" && op !== "rmi") assert.not.match(stderr, /error/, `${op} run ${i} failed before its kill: ${stderr}`);
      kills.push(`${op}@${at}`);
      // One command after the kill: it reclaims what the dead process left, and the store checks out.
      const fsck = tsbuild(["fsck"], env);
      assert.is(fsck.status, 0, `fsck after ${op}@${at} (kill ${i}): ${fsck.stdout}${fsck.stderr}`);
      assert.equal(await leftovers(dir, baseline), [], `left after ${op}@${at} (kill ${i}) and one command`);
    }
    // The kills landed inside the work, not only at the exits.
    for (const op of new Set(OPS)) {
      assert.ok(kills.some((kill) => kill.startsWith(`${op}@`) && !kill.endsWith("@exit")), `${op} was killed mid-way: ${kills.join(" ")}`);
    }
    for (const point of ["content.ingested", "atomic-file.renamed", "snapshotter.mounted", "copy.file", "executor.output", "layer-writer.partial", "archive-writer.layer", "gc.blob-removed"]) {
      assert.ok(kills.some((kill) => kill.endsWith(`@${point}`)), `a run was killed at ${point}: ${kills.join(" ")}`);
    }
    assert.equal(await filesContaining(dir, "crash-secret-value").then((files) => files.filter((file) => !file.endsWith("/secret"))), [], "no secret bytes on disk");

    // Every command still works, gives the digests an undisturbed run gave, and every listed image is whole.
    ok([...build.slice(0, 1), "--iidfile", join(dir, "after.iid"), ...build.slice(1)]);
    assert.is(await readFile(join(dir, "after.iid"), "utf8"), builtId, "the build gives the same image");
    ok(["save", "-o", join(dir, "after.tar"), "crash/built:1"]);
    assert.is(createHash("sha256").update(await readFile(join(dir, "after.tar"))).digest("hex"), savedDigest, "save writes the same archive");
    ok(["commit", "cc", "crash/committed:after"]);
    assert.is(layerOf("crash/committed:after"), committedLayer);
    ok(["import", tar, "crash/imported:after"]);
    assert.is(layerOf("crash/imported:after"), importedLayer);
    assert.is(ok(["load", "-i", archive]), "Loaded image: crash/archived:1\n");
    const worker = await openWorker({ root: join(dir, "root"), snapshotter: "overlayfs" });
    for (const row of await listImages(worker)) {
      await unpackImage(worker, row.id);
      ok(["inspect", row.id]);
      ok(["history", row.id]);
    }
    ok(["system", "df"]);
    ok(["rm", "-f", "cc"]);
    ok(["prune", "-a", "-f"]);
    assert.is(ok(["images", "-q"]), "");
    ok(["fsck"]);
    // With every image gone, so is every unpacked layer and ingest file (blobs the build's
    // step records hold, for explaining cache misses, may stay).
    const keys: string[] = [];
    await (await worker.snapshotter()).walk((info) => void keys.push(info.key));
    assert.equal(keys, []);
    assert.equal(await readdir(worker.store.paths.ingest), []);
    assert.equal(await leftovers(dir, new Set()), []);
  } finally {
    await cleanupRoot(dir);
  }
});

test.run();
