import { spawnSync } from "node:child_process";
import { link, mkdir, readFile, readdir, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { digestOf } from "../../oci/digest.js";
import { REF_NAME_ANNOTATION, computeChainIds } from "../../oci/image-types.js";
import { openStore, type Store } from "../../store/store.js";
import { assertRejects } from "./assert-rejects.js";
import { backdateBlob } from "./backdate-blob.js";
import { moduleUrl, runScript } from "./child-process.js";
import { withTempDir } from "./temp-dir.js";
import { makeLayer, writeTinyImage } from "./tiny-image.js";

const storeModule = moduleUrl("store/store.js", import.meta.url);
const tinyImageModule = moduleUrl("test/store/tiny-image.js", import.meta.url);

async function withStore(fn: (store: Store, root: string) => Promise<void>): Promise<void> {
  await withTempDir(async (root) => fn(await openStore({ root }), root));
}

async function blobNames(store: Store): Promise<string[]> {
  return (await readdir(store.paths.blobs)).sort();
}

test("opening a root lays out an OCI image layout and the other directories", async () => {
  await withStore(async (store, root) => {
    assert.equal(JSON.parse(await readFile(join(root, "content", "oci-layout"), "utf8")), { imageLayoutVersion: "1.0.0" });
    const index = JSON.parse(await readFile(join(root, "content", "index.json"), "utf8"));
    assert.equal(index.manifests, []);
    assert.is(index.schemaVersion, 2);
    for (const dir of ["content/blobs/sha256", "content/ingest", "metadata/refs", "snapshots", "containers", "volumes"]) {
      assert.ok((await readdir(join(root, dir))) !== undefined, dir);
    }
    assert.equal(await store.images.list(), []);
  });
});

test("finding an image by name or digest reads only that image, however many the store holds", async () => {
  await withStore(async (store) => {
    const layer = await makeLayer({ "hello.txt": "hi\n" });
    const first = await writeTinyImage(store, [layer], { cmd: ["first"] });
    await store.images.tag("first", first.manifest);
    // Content reads and stats a lookup makes, counted on the real store.
    const content = store.content as unknown as Record<"read" | "stat" | "has", (...args: unknown[]) => Promise<unknown>>;
    const counted = async (lookup: () => Promise<unknown>): Promise<number> => {
      const originals = { read: content.read, stat: content.stat, has: content.has };
      let calls = 0;
      for (const name of ["read", "stat", "has"] as const) {
        const original = originals[name];
        content[name] = (...args: unknown[]) => {
          calls++;
          return original.apply(store.content, args);
        };
      }
      try {
        assert.ok((await lookup()) !== undefined);
      } finally {
        Object.assign(content, originals);
      }
      return calls;
    };
    // (After a first lookup: the store remembers blobs it has parsed.)
    await store.images.find("first");
    const alone = { name: await counted(() => store.images.find("first")), digest: await counted(() => store.images.find(`first@${first.manifest}`)) };
    for (let i = 0; i < 8; i++) {
      const other = await writeTinyImage(store, [layer], { cmd: [`other-${i}`] });
      await store.images.tag(`other:${i}`, other.manifest);
    }
    assert.is(await counted(() => store.images.find("first")), alone.name);
    assert.is(await counted(() => store.images.find(`first@${first.manifest}`)), alone.digest);
    assert.is((await store.images.find("other:3"))?.names[0], "docker.io/library/other:3");
    // An id (the config's digest) and an id prefix still find it among them all.
    assert.is((await store.images.find(first.config))?.digest, first.manifest);
    assert.is((await store.images.find(first.config.slice(7, 19)))?.digest, first.manifest);
  });
});

test("a tagged image is listed under its normalised name, its config digest as id", async () => {
  await withStore(async (store) => {
    const image = await writeTinyImage(store, [await makeLayer({ "hello.txt": "hi\n" })]);
    const record = await store.images.tag("tiny", image.manifest);
    assert.is(record.name, "docker.io/library/tiny:latest");
    const [listed, ...rest] = await store.images.list();
    assert.is(rest.length, 0);
    assert.is(listed.id, image.config);
    assert.is(listed.shortId, image.config.slice(7, 19));
    assert.is(listed.digest, image.manifest);
    assert.equal(listed.names, ["docker.io/library/tiny:latest"]);
    assert.equal(listed.familiarNames, ["tiny:latest"]);
    assert.is(listed.created, "2026-01-01T00:00:00Z");
    const blobBytes = (await Promise.all([image.manifest, image.config, ...image.layers].map((d) => store.content.stat(d)))).reduce((s, b) => s + b!.size, 0);
    assert.is(listed.size, blobBytes);
    for (const text of ["tiny", "tiny:latest", "docker.io/library/tiny:latest", image.config, image.config.slice(7, 19), `tiny@${image.manifest}`]) {
      assert.is((await store.images.get(text)).digest, image.manifest, text);
    }
    await assertRejects(store.images.get("other"), (e) => isTsbuildError(e, "NOT_FOUND") && (e as Error).message === 'No such image "other"');
  });
});

test("tagging needs the manifest and its blobs in the store", async () => {
  await withStore(async (store) => {
    await assertRejects(store.images.tag("x", digestOf("nothing")), (e) => isTsbuildError(e, "NOT_FOUND"));
    const image = await writeTinyImage(store, [await makeLayer({ a: "a" })]);
    await store.content.delete(image.layers[0]);
    await assertRejects(
      store.images.tag("x", image.manifest),
      (e) => isTsbuildError(e, "NOT_FOUND") && (e as Error).message.includes(`blob "${image.layers[0]}" is not in the content store`),
    );
    await assertRejects(store.images.tag("x", image.config), (e) => isTsbuildError(e, "INVALID_ARCHIVE"));
    await assertRejects(store.images.tag(`x@${image.manifest}`, image.manifest), (e) => isTsbuildError(e, "INVALID_REFERENCE"));
  });
});

test("moving a tag to a new image leaves the old one dangling, as docker does", async () => {
  await withStore(async (store) => {
    const first = await writeTinyImage(store, [await makeLayer({ v: "1" })]);
    const second = await writeTinyImage(store, [await makeLayer({ v: "2" })]);
    await store.images.tag("app:1", first.manifest);
    await store.images.tag("app:1", second.manifest);
    const images = await store.images.list();
    assert.is(images.length, 2);
    assert.equal(images.find((i) => i.digest === first.manifest)?.names, []);
    assert.equal(images.find((i) => i.digest === second.manifest)?.names, ["docker.io/library/app:1"]);
    await store.images.tag("app:2", first.manifest);
    assert.is((await store.images.records()).length, 2, "naming the dangling image again replaces its nameless entry");
  });
});

test("rmi of one of two names only untags; rmi of the last name deletes unshared blobs and keeps shared ones", async () => {
  await withStore(async (store) => {
    const base = await makeLayer({ "etc/base": "base" });
    const a = await writeTinyImage(store, [base, await makeLayer({ a: "only in a" })], { cmd: ["a"] });
    const b = await writeTinyImage(store, [base, await makeLayer({ b: "only in b" })], { cmd: ["b"] });
    await store.images.tag("a:1", a.manifest);
    await store.images.tag("a:alias", a.manifest);
    await store.images.tag("b:1", b.manifest);

    const untag = await store.removeImage("a:alias", { graceMs: 0 });
    assert.equal(untag.untagged, ["a:alias"]);
    assert.equal(untag.deleted, []);
    assert.is(untag.gc, undefined);

    const removed = await store.removeImage("a:1", { graceMs: 0 });
    assert.equal(removed.untagged, ["a:1"]);
    assert.equal(removed.deleted.map((image) => image.id), [a.config]);
    const gone = [a.manifest, a.config, a.layers[1]];
    assert.equal(removed.gc!.removedBlobs.map((blob) => blob.digest).sort(), gone.sort());
    for (const digest of gone) assert.is(await store.content.has(digest), false, digest);
    for (const digest of [b.manifest, b.config, ...b.layers]) assert.is(await store.content.has(digest), true, digest);
    assert.is(a.layers[0], b.layers[0], "the base layer is shared");
    // The shared base's snapshot is still held by b; a's top snapshot is not.
    const [, aTop] = computeChainIds(a.diffIds);
    assert.equal(removed.gc!.unreferencedSnapshots, [aTop]);
    assert.equal((await store.images.list()).map((image) => image.familiarNames), [["b:1"]]);
    assert.is((await store.fsck()).ok, true);
  });
});

test("the snapshot seam removes every snapshot no root holds", async () => {
  await withStore(async (store) => {
    const image = await writeTinyImage(store, [await makeLayer({ x: "x" }), await makeLayer({ y: "y" })]);
    await store.images.tag("keep", image.manifest);
    await store.refs.put("cache", "run-step", { snapshots: ["cache-snap"] });
    const chain = computeChainIds(image.diffIds);
    const snapshots = new Set([...chain, "cache-snap", "orphan-1", "orphan-2"]);
    const report = await store.gc({
      listSnapshotKeys: async () => [...snapshots],
      removeSnapshot: async (key) => {
        if (key === "orphan-2") throw new Error("busy");
        snapshots.delete(key);
      },
    });
    assert.equal(report.unreferencedSnapshots, ["orphan-1", "orphan-2"]);
    assert.equal(report.removedSnapshots, ["orphan-1"]);
    assert.equal(report.snapshotErrors, [{ key: "orphan-2", message: "busy" }]);
    assert.equal([...snapshots].sort(), [...chain, "cache-snap", "orphan-2"].sort());
  });
});

test("an image a container uses is not removed without force, and stays dangling with it", async () => {
  await withStore(async (store) => {
    const image = await writeTinyImage(store, [await makeLayer({ c: "c" })]);
    await store.images.tag("used", image.manifest);
    await store.refs.put("container", "c0ffee", { blobs: [image.manifest], size: 10 });
    const error = await assertRejects(store.removeImage("used", { graceMs: 0 }), (e) => isTsbuildError(e, "IN_USE"));
    assert.is((error as Error).message, `Cannot remove image "used": container "c0ffee" uses image ${image.config.slice(7, 19)}`);
    const forced = await store.removeImage("used", { force: true, graceMs: 0 });
    assert.equal(forced.untagged, ["used:latest"]);
    assert.equal(forced.deleted, []);
    assert.equal((await store.images.list()).map((i) => [i.digest, i.names]), [[image.manifest, []]]);
    // Pruning dangling images spares it too, since the container still uses it.
    const pruned = await store.prune({ graceMs: 0 });
    assert.equal(pruned.deleted, []);
    await store.refs.remove("container", "c0ffee");
    const prunedAfter = await store.prune({ graceMs: 0 });
    assert.equal(prunedAfter.deleted.map((i) => i.digest), [image.manifest]);
    assert.equal(await blobNames(store), []);
  });
});

test("rmi by id of an image with several names needs force, then removes every name", async () => {
  await withStore(async (store) => {
    const image = await writeTinyImage(store, [await makeLayer({ m: "m" })]);
    await store.images.tag("one", image.manifest);
    await store.images.tag("localhost:5000/two:x", image.manifest);
    const error = await assertRejects(store.removeImage(image.config.slice(7, 19)), (e) => isTsbuildError(e, "CONFLICT"));
    assert.match((error as Error).message, /it has 2 names \(one:latest, localhost:5000\/two:x\)$/);
    const result = await store.removeImage(image.config, { force: true, graceMs: 0 });
    assert.equal(result.untagged.sort(), ["localhost:5000/two:x", "one:latest"]);
    assert.equal(await store.images.list(), []);
    assert.equal(await blobNames(store), []);
  });
});

test("prune removes dangling images and, when asked, cache records, sparing what is still held", async () => {
  await withStore(async (store) => {
    const kept = await writeTinyImage(store, [await makeLayer({ k: "k" })]);
    const dangling = await writeTinyImage(store, [await makeLayer({ d: "d" })]);
    const cached = await store.content.write("a cache blob");
    await store.images.tag("kept", kept.manifest);
    await store.images.keep(dangling.manifest);
    await store.refs.put("cache", "key1", { blobs: [cached.digest], snapshots: ["snap-c"] });

    const first = await store.prune({ graceMs: 0 });
    assert.equal(first.deleted.map((i) => i.digest), [dangling.manifest]);
    assert.equal(first.removedCache, []);
    assert.is(await store.content.has(cached.digest), true, "a cache record holds its blob");
    assert.is(await store.content.has(dangling.layers[0]), false);

    const second = await store.prune({ graceMs: 0, cache: true });
    assert.equal(second.removedCache, ["key1"]);
    assert.equal(second.gc.removedBlobs.map((b) => b.digest), [cached.digest]);
    assert.equal(second.gc.unreferencedSnapshots, ["snap-c"]);
    assert.equal((await store.images.list()).map((i) => i.familiarNames), [["kept:latest"]]);

    const all = await store.prune({ graceMs: 0, all: true });
    assert.equal(all.untagged, ["kept:latest"]);
    assert.equal(await blobNames(store), []);
  });
});

test("gc spares fresh unreferenced blobs for the grace period and blobs written under a live lease", async () => {
  await withStore(async (store) => {
    const fresh = await store.content.write("fresh");
    assert.equal((await store.gc()).removedBlobs, [], "the default grace period keeps a just-written blob");
    await backdateBlob(store.content, fresh.digest);
    const lease = await store.refs.acquireLease();
    const leased = await store.content.write("written during a build");
    const during = await store.gc({ graceMs: 0 });
    assert.equal(during.removedBlobs.map((b) => b.digest), [fresh.digest], "only the blob older than the lease goes");
    assert.is(await store.content.has(leased.digest), true, "a live lease protects blobs written since it began");
    await lease.release();
    const report = await store.gc({ graceMs: 0 });
    assert.equal(report.removedBlobs.map((b) => b.digest), [leased.digest]);
  });
});

test("what a lease holds survives gc past the lease's start, until it is released", async () => {
  await withStore(async (store) => {
    const old = await store.content.write("written before the lease");
    const lease = await store.refs.acquireLease();
    await lease.hold({ blobs: [old.digest], snapshots: ["snap-l"] });
    const held = await store.gc({ graceMs: 0, candidateSnapshotKeys: ["snap-l"] });
    assert.equal(held.removedBlobs, []);
    assert.equal(held.unreferencedSnapshots, []);
    assert.is((await store.refs.list("lease"))[0].owner?.pid, process.pid);
    await lease.release();
    const freed = await store.gc({ graceMs: 0, candidateSnapshotKeys: ["snap-l"] });
    assert.equal(freed.removedBlobs.map((b) => b.digest), [old.digest]);
    assert.equal(freed.unreferencedSnapshots, ["snap-l"]);
  });
});

test("a lease writes what it holds once: holds made together share a write, a hold of what it has writes nothing, and a release is not undone by a write under way", async () => {
  await withStore(async (store) => {
    const lease = await store.refs.acquireLease();
    const put = store.refs.put.bind(store.refs);
    let writes = 0;
    store.refs.put = (...args: Parameters<typeof put>) => {
      writes++;
      return put(...args);
    };
    const onDisk = async () => {
      const record = (await store.refs.list("lease")).find((ref) => ref.id === lease.id);
      return record === undefined ? undefined : [...record.snapshots].sort();
    };
    await lease.hold({ snapshots: ["a"] });
    assert.is(writes, 1);
    assert.equal(await onDisk(), ["a"]);
    // Made together: the write the first asks for has not started when the others come.
    await Promise.all([lease.hold({ snapshots: ["b"] }), lease.hold({ snapshots: ["c"] }), lease.hold({ snapshots: ["d", "a"] })]);
    assert.is(writes, 2);
    assert.equal(await onDisk(), ["a", "b", "c", "d"]);
    await lease.hold({ snapshots: ["b", "c"] });
    assert.is(writes, 2, "nothing new, nothing written");
    const holding = lease.hold({ snapshots: ["e"] });
    await lease.release();
    await holding;
    assert.is(await onDisk(), undefined, "released after the write under way, not before it");
  });
});

test("rmi by name@digest deletes the image that digest names", async () => {
  await withStore(async (store) => {
    const image = await writeTinyImage(store, [await makeLayer({ p: "p" })]);
    await store.images.tag("pinned", image.manifest);
    const result = await store.removeImage(`pinned@${image.manifest}`, { graceMs: 0 });
    assert.equal(result.untagged, ["pinned:latest"]);
    assert.equal(result.deleted.map((i) => i.digest), [image.manifest]);
    assert.equal(await store.images.list(), []);
  });
});

test("a lease of a dead process protects nothing and is dropped", async () => {
  await withStore(async (store) => {
    const blob = await store.content.write("orphan");
    const dead = spawnSync("true").pid!;
    await store.refs.put("lease", `${dead}-1-abcdef`, { blobs: [blob.digest], owner: { pid: dead, startTime: 1 } });
    const report = await store.gc({ graceMs: 0 });
    assert.equal(report.removedLeases, [`${dead}-1-abcdef`]);
    assert.equal(report.removedBlobs.map((b) => b.digest), [blob.digest]);
    assert.equal(await store.refs.list("lease"), []);
  });
});

test("a record held while a blob (a compressed copy of a layer) lives as long as that blob is held, then goes with it", async () => {
  await withStore(async (store) => {
    const image = await writeTinyImage(store, [await makeLayer({ l: "l" })]);
    await store.images.tag("kept", image.manifest);
    const copy = await store.content.write("compressed copy of the layer");
    await store.refs.put("compressed-layer", "gzip-x", { blobs: [copy.digest], heldWhile: image.layers[0] });
    const orphanSource = await store.content.write("a source nothing holds");
    const orphanCopy = await store.content.write("its copy");
    await store.refs.put("compressed-layer", "gzip-y", { blobs: [orphanCopy.digest], heldWhile: orphanSource.digest });

    const first = await store.gc({ graceMs: 0 });
    assert.equal(first.removedBlobs.map((b) => b.digest).sort(), [orphanSource.digest, orphanCopy.digest].sort(), "a copy whose source nothing holds goes");
    assert.equal(first.removedDerived, ["compressed-layer/gzip-y"]);
    assert.ok(await store.content.has(copy.digest), "the copy of a held layer stays");

    await store.removeImage("kept", { graceMs: 0 });
    assert.equal(await blobNames(store), [], "the copy goes in the same collection as its layer");
    assert.equal(await store.refs.list("compressed-layer"), []);
  });
});

test("a record pointing at a missing manifest is skipped by listings and reported by fsck", async () => {
  await withStore(async (store) => {
    const good = await writeTinyImage(store, [await makeLayer({ g: "g" })]);
    const bad = await writeTinyImage(store, [await makeLayer({ b: "b" })]);
    await store.images.tag("good", good.manifest);
    await store.images.tag("bad", bad.manifest);
    await store.content.delete(bad.manifest);
    assert.equal((await store.images.list()).map((i) => i.familiarNames), [["good:latest"]]);
    assert.is(await store.images.find("bad"), undefined);
    const report = await store.fsck();
    assert.is(report.ok, false);
    assert.equal(report.images.broken, [{ name: "docker.io/library/bad:latest", digest: bad.manifest, missing: [bad.manifest], reason: "manifest is missing" }]);
    assert.is(report.images.checked, 2);
    await store.refs.put("container", "ctr1", { blobs: [digestOf("gone")] });
    await mkdir(join(store.paths.refs, "cache"), { recursive: true });
    await writeFile(join(store.paths.refs, "cache", "broken.json"), "{not json");
    const again = await store.fsck();
    assert.equal(again.refs.broken, [{ kind: "container", id: "ctr1", missing: [digestOf("gone")] }]);
    assert.equal(again.refs.unreadable.map((r) => [r.kind, r.id]), [["cache", "broken"]]);
    assert.equal((await store.refs.list()).map((r) => r.id), ["ctr1"], "listings skip the unreadable record");
  });
});

test("fsck reports a blob whose content no longer matches its digest", async () => {
  await withStore(async (store) => {
    const blob = await store.content.write("pristine");
    await unlink(store.content.path(blob.digest));
    await writeFile(store.content.path(blob.digest), "rotten");
    const report = await store.fsck();
    assert.equal(report.blobs.corrupt, [{ digest: blob.digest, actual: digestOf("rotten"), size: 6 }]);
    assert.is(report.blobs.checked, 1);
  });
});

test("disk usage counts images, containers and cache, and what removing the unused would free", async () => {
  await withStore(async (store) => {
    const base = await makeLayer({ base: "x".repeat(1000) });
    const used = await writeTinyImage(store, [base], { cmd: ["used"] });
    const unused = await writeTinyImage(store, [base, await makeLayer({ extra: "y".repeat(500) })], { cmd: ["unused"] });
    await store.images.tag("used", used.manifest);
    await store.images.tag("unused", unused.manifest);
    await store.refs.put("container", "c1", { blobs: [used.manifest], size: 4096, labels: { "tsbuild.running": "true" } });
    await store.refs.put("container", "c2", { blobs: [used.manifest], size: 100 });
    const cacheBlob = await store.content.write("cache bytes");
    await store.refs.put("cache", "k", { blobs: [cacheBlob.digest], size: 7 });
    const garbage = await store.content.write("garbage!");
    const size = async (digests: string[]) =>
      (await Promise.all(digests.map((d) => store.content.stat(d as never)))).reduce((s, b) => s + b!.size, 0);

    const usage = await store.usage();
    const imageBlobs = [...new Set([used.manifest, used.config, ...used.layers, unused.manifest, unused.config, ...unused.layers])];
    assert.is(usage.images.count, 2);
    assert.is(usage.images.active, 1);
    assert.is(usage.images.size, await size(imageBlobs));
    assert.is(usage.images.reclaimable, await size([unused.manifest, unused.config, unused.layers[1]]));
    assert.equal(usage.containers, { count: 2, running: 1, size: 4196, reclaimable: 100 });
    assert.equal(usage.cache, { count: 1, size: 7 + cacheBlob.size, reclaimable: 7 + cacheBlob.size });
    assert.equal(usage.unreferenced, { count: 1, size: garbage.size });
    assert.is(usage.content.size, (await size(imageBlobs)) + cacheBlob.size + garbage.size);
  });
});

test("processes tagging different names at once lose none of them", async () => {
  await withStore(async (store, root) => {
    const image = await writeTinyImage(store, [await makeLayer({ shared: "s" })]);
    const script = (n: number) => `
      import { openStore } from ${JSON.stringify(storeModule)};
      import { makeLayer, writeTinyImage } from ${JSON.stringify(tinyImageModule)};
      const store = await openStore({ root: ${JSON.stringify(root)} });
      const own = await writeTinyImage(store, [await makeLayer({ n: "${n}" })]);
      for (let i = 0; i < 5; i++) {
        await store.images.tag("proc${n}:" + i, own.manifest);
        await store.images.tag("shared:p${n}-" + i, ${JSON.stringify(image.manifest)});
      }`;
    await Promise.all([1, 2, 3, 4].map((n) => runScript(script(n))));
    const names = (await store.images.list()).flatMap((i) => i.familiarNames);
    assert.is(names.length, 40);
    for (const n of [1, 2, 3, 4]) for (let i = 0; i < 5; i++) assert.ok(names.includes(`proc${n}:${i}`) && names.includes(`shared:p${n}-${i}`));
    const index = JSON.parse(await readFile(store.paths.indexJson, "utf8"));
    assert.is(index.manifests.filter((m: { annotations?: Record<string, string> }) => m.annotations?.[REF_NAME_ANNOTATION]).length, 40);
  });
});

test("withLock: a nested call in the holder does not lock again; a callback the holder leaves behind takes the lock for itself", async () => {
  await withStore(async (store) => {
    const events: string[] = [];
    let fire: () => void = () => undefined;
    const fired = new Promise<void>((resolve) => (fire = resolve));
    let late: Promise<unknown> | undefined;
    await store.withLock(async () => {
      await store.withLock(async () => events.push("nested")); // locking again would wait for itself forever
      // Made under the lock, run after it was released: it must not think it holds it.
      void fired.then(() => (late = store.withLock(async () => events.push("late"))));
    });
    await store.withLock(async () => {
      events.push("other holds");
      fire();
      // Turns of the event loop in which a callback that wrongly thought it held the lock would run.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      events.push("other releases");
    });
    await late;
    assert.equal(events, ["nested", "other holds", "other releases", "late"]);
  });
});

test("a store lock left by a killed process does not block the next command", async () => {
  await withTempDir(async (root) => {
    const store = await openStore({ root });
    const dead = spawnSync("true").pid!;
    const owner = `${store.paths.storeLock}.owner-${dead}-99-abcdefabcdef`;
    await writeFile(owner, JSON.stringify({ pid: dead, startTime: 99, token: `${dead}-99-abcdefabcdef`, acquiredAt: "" }));
    await link(owner, store.paths.storeLock);
    await writeFile(join(store.paths.content, `.tmp-index.json-${dead}-99-abcdefabcdef`), "half");
    const reopened = await openStore({ root, lockTimeoutMs: 5_000 });
    const image = await writeTinyImage(reopened, [await makeLayer({ after: "crash" })]);
    await reopened.images.tag("after-crash", image.manifest);
    const left = (await readdir(store.paths.locks)).filter((name) => !name.includes(`.owner-${process.pid}-`)); // this process keeps its own until it exits
    assert.equal(left, [], "the stale lock and its owner file are gone");
    assert.not.ok((await readdir(store.paths.content)).some((name) => name.startsWith(".tmp-")), "the dead writer's temp file is gone");
  });
});

test.run();
