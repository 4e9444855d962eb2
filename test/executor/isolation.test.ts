import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { RUNTIMES, runScript, withSandbox } from "./sandbox-fixture.js";

/** Docker's 14 default capabilities as a CapEff mask: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP. */
const DOCKER_CAP_MASK = 0xa80425fbn;
const CAP_SYS_ADMIN = 21n;

/** The interface names in a /proc/net/dev text. */
function interfaces(procNetDev: string): string[] {
  return procNetDev
    .split("\n")
    .slice(2)
    .map((line) => line.split(":")[0].trim())
    .filter((name) => name !== "")
    .sort();
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: ps inside a RUN sees only the sandbox's processes`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      // A second command keeps sh from exec'ing ps in its place.
      const { stdout } = await runScript(sandbox, "ps -o pid,args; true");
      const rows = stdout.trim().split("\n").slice(1);
      assert.is(rows.length, 2, stdout);
      assert.match(rows[0], /^\s*1\s+\/bin\/sh -c ps/);
      assert.not.match(rows[1], /^\s*1\s/);
      assert.match(rows[1], /ps -o pid,args/);
    });
  });

  test(`${runtime}: the hostname is the sandbox's, and /etc/hosts names it`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      assert.is((await runScript(sandbox, "hostname")).stdout, "buildkitsandbox\n");
      const custom = await runScript(sandbox, "hostname; grep -c 127.0.0.1.*builder-7 /etc/hosts", { hostname: "builder-7" });
      assert.is(custom.stdout, "builder-7\n1\n");
    });
  });

  test(`${runtime}: a host file outside the rootfs is unreachable`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const name = `host-only-${randomBytes(4).toString("hex")}`;
      await writeFile(join(sandbox.dir, name), "host data");
      const hostPath = join(sandbox.dir, name);
      const { stdout } = await runScript(
        sandbox,
        `cat ${hostPath} 2>/dev/null; echo cat=$?; cat /../${name} 2>/dev/null; echo dotdot=$?; find / -xdev -name '${name}' | wc -l`,
      );
      assert.is(stdout, "cat=1\ndotdot=1\n0\n");
    });
  });

  test(`${runtime}: a RUN runs under seccomp: a user namespace cannot be made to mount in; insecure mode lifts the filter`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const { stdout } = await runScript(
        sandbox,
        "grep '^Seccomp:' /proc/self/status; unshare -Urm sh -c 'mount -t tmpfs none /mnt' 2>/dev/null && echo unshared || echo unshare-refused",
      );
      assert.is(stdout, "Seccomp:\t2\nunshare-refused\n");
      const insecure = await runScript(sandbox, "grep '^Seccomp:' /proc/self/status", { security: "insecure" });
      assert.is(insecure.stdout, "Seccomp:\t0\n");
    });
  });

  test(`${runtime}: the user's primary group is among its groups (CVE-2023-25173)`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      assert.is((await runScript(sandbox, "id -G", { user: "root" })).stdout, "0\n");
      assert.is((await runScript(sandbox, "id -G", { user: "bob" })).stdout, "1001 29 50\n");
      assert.is((await runScript(sandbox, "id -G", { user: "1000:50" })).stdout, "50\n");
    });
  });

  test(`${runtime}: mount, writing /proc/sys and loading modules are refused`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const { stdout, stderr } = await runScript(
        sandbox,
        [
          "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m; echo mount=$?",
          "echo changed > /proc/sys/kernel/domainname; echo procsys=$?",
          "head -c 64 /dev/urandom > /tmp/x.ko; insmod /tmp/x.ko 2>/dev/null; echo insmod=$?",
          "grep CapBnd /proc/self/status",
        ].join("; "),
      );
      const lines = stdout.trim().split("\n");
      assert.equal(lines.slice(0, 2), ["mount=1", "procsys=1"]);
      assert.match(stderr, /mount: permission denied/);
      assert.match(stderr, /domainname: Read-only file system/);
      assert.is.not(lines[2], "insmod=0");
      // This host's kernel has no module support at all, so insmod fails for root too; what
      // makes module loading impossible in any kernel is the missing CAP_SYS_MODULE (bit 16).
      const capBnd = BigInt(`0x${lines[3].split(":")[1].trim()}`);
      assert.is((capBnd >> 16n) & 1n, 0n);
    });
  });

  test(`${runtime}: the capabilities are Docker's default set, without CAP_SYS_ADMIN`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const { stdout } = await runScript(sandbox, "grep CapEff /proc/self/status");
      const capEff = BigInt(`0x${stdout.split(":")[1].trim()}`);
      assert.is((capEff >> CAP_SYS_ADMIN) & 1n, 0n);
      assert.is(capEff, DOCKER_CAP_MASK);
      const { stdout: nnp } = await runScript(sandbox, "grep NoNewPrivs /proc/self/status");
      assert.match(nnp, /NoNewPrivs:\s+1/);
    });
  });

  test(`${runtime}: masked /proc files read empty and /sys is read-only`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      // Both have content on the host (the test checks), and must read empty inside.
      assert.ok((await readFile("/proc/keys")).length > 0);
      const { stdout } = await runScript(
        sandbox,
        "cat /proc/keys | wc -c; cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; touch /sys/x 2>/dev/null; echo sys=$?; grep -c ' /sys sysfs ro,' /proc/mounts",
      );
      assert.is(stdout.replace(/[ \t]+/g, ""), "0\n0\n0\nsys=1\n1\n");
    });
  });

  test(`${runtime}: network none has only lo, and it is up`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const { stdout } = await runScript(sandbox, "cat /proc/net/dev; echo ===; ip link show lo", { network: "none" });
      const [dev, lo] = stdout.split("===\n");
      assert.equal(interfaces(dev), ["lo"]);
      assert.match(lo, /<[^>]*\bUP\b[^>]*>/);
    });
  });

  test(`${runtime}: network host sees the host's interfaces`, async () => {
    await withSandbox(runtime, async (sandbox) => {
      const { stdout } = await runScript(sandbox, "cat /proc/net/dev", { network: "host" });
      assert.equal(interfaces(stdout), interfaces(await readFile("/proc/net/dev", "utf8")));
    });
  });
}

test.run();
