import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import type { CacheMount } from "../../executor/types.js";
import { makeBusyboxRootfs } from "../helpers/busybox-rootfs.js";
import { runScript, withSandbox } from "./sandbox-fixture.js";

const NAMESPACE = "readlink /proc/self/ns/net";
/** A cache directory two runs share, to meet in. */
const meeting: CacheMount = { type: "cache", target: "/meet", id: "meet", sharing: "shared" };

/** Says its namespace, leaves `mine`, then waits (60 s at most, a failure bound) until `theirs` is there too. */
const meet = (mine: string, theirs: string) =>
  `${NAMESPACE}; touch /meet/${mine}; i=0; while [ ! -e /meet/${theirs} ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; [ -e /meet/${theirs} ]`;

test("runs one after another share a default network; runs side by side each get one; what an insecure run did to its network reaches no later run", async () => {
  await withSandbox("crun", async (sandbox) => {
    const first = (await runScript(sandbox, NAMESPACE)).stdout;
    const second = (await runScript(sandbox, NAMESPACE)).stdout;
    assert.match(first, /^net:\[\d+\]\n$/);
    assert.is(second, first);
    // Still its own network, with no way to the host's loopback, the second time.
    assert.is((await runScript(sandbox, "ip -o -4 addr show tap0 | grep -o 'inet [0-9./]*'")).stdout, "inet 10.0.2.100/24\n");

    // Each on a rootfs of its own, as build steps are: the runtime makes its mount points in it.
    const other = join(sandbox.dir, "rootfs-b");
    await makeBusyboxRootfs(other);
    const [a, b] = await Promise.all([
      runScript(sandbox, meet("a", "b"), { mounts: [meeting] }),
      runScript({ ...sandbox, rootfs: other }, meet("b", "a"), { mounts: [meeting] }),
    ]);
    assert.is.not(a.stdout, b.stdout);
    assert.ok([a.stdout, b.stdout].includes(first), "the idle network was taken by one of them");

    // An insecure run may change its network (it has CAP_NET_ADMIN): what it did reaches no later run.
    const marked = await runScript(sandbox, "ip addr add 10.9.9.9/32 dev lo && ip -o -4 addr show lo | grep -c 10.9.9.9", { security: "insecure" });
    assert.is(marked.stdout, "1\n");
    for (let i = 0; i < 3; i++) assert.is((await runScript(sandbox, "ip -o -4 addr show lo | grep -c 10.9.9.9 || true")).stdout, "0\n");
  });
});

test.run();
