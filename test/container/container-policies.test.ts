import { test } from "uvu";
import * as assert from "uvu/assert";
import { healthcheckSettings } from "../../container/health-check.js";
import { exposedPortBindings, formatPortBindings, parsePortBinding } from "../../container/port-bindings.js";
import { parseRestartPolicy, restartDelayMs, shouldRestart } from "../../container/restart-policy.js";

test("-p specs: container port alone, host port, host address, protocol; -P takes EXPOSE's ports", () => {
  assert.equal(parsePortBinding("80"), { protocol: "tcp", hostIp: "0.0.0.0", hostPort: 0, containerPort: 80 });
  assert.equal(parsePortBinding("8080:80"), { protocol: "tcp", hostIp: "0.0.0.0", hostPort: 8080, containerPort: 80 });
  assert.equal(parsePortBinding("127.0.0.1::53/udp"), { protocol: "udp", hostIp: "127.0.0.1", hostPort: 0, containerPort: 53 });
  for (const bad of ["", "0", "80/sctp", "a:80", "1.2.3:80:80", "[::1]:80:80", "80/tcp/x"]) {
    assert.throws(() => parsePortBinding(bad), /Cannot parse port/, bad);
  }
  const exposed = exposedPortBindings({ "80/tcp": {}, "53/udp": {}, "8080": {} });
  assert.equal(formatPortBindings(exposed).split(", ").sort(), ["0.0.0.0:0->53/udp", "0.0.0.0:0->80/tcp", "0.0.0.0:0->8080/tcp"]);
});

test("restart policies decide as docker's: on-failure counts, a requested stop always wins, the back-off doubles", () => {
  assert.equal(parseRestartPolicy("on-failure:3"), { name: "on-failure", maximumRetryCount: 3 });
  assert.equal(parseRestartPolicy("unless-stopped"), { name: "unless-stopped", maximumRetryCount: 0 });
  for (const bad of ["sometimes", "always:2", "on-failure:x", "on-failure:1:2", ""]) assert.throws(() => parseRestartPolicy(bad), /Cannot parse --restart/, bad);

  const onFailure = parseRestartPolicy("on-failure:2");
  assert.is(shouldRestart(onFailure, { exitCode: 1, restarts: 1, stopRequested: false }), true);
  assert.is(shouldRestart(onFailure, { exitCode: 1, restarts: 2, stopRequested: false }), false);
  assert.is(shouldRestart(onFailure, { exitCode: 0, restarts: 0, stopRequested: false }), false);
  assert.is(shouldRestart(parseRestartPolicy("on-failure"), { exitCode: 9, restarts: 1000, stopRequested: false }), true);
  assert.is(shouldRestart(parseRestartPolicy("always"), { exitCode: 0, restarts: 5, stopRequested: false }), true);
  assert.is(shouldRestart(parseRestartPolicy("always"), { exitCode: 0, restarts: 0, stopRequested: true }), false);
  assert.is(shouldRestart(undefined, { exitCode: 1, restarts: 0, stopRequested: false }), false);

  assert.equal([0, 100, 200, 40_000].map((previous) => restartDelayMs(previous, 50)), [100, 200, 400, 60_000]);
  assert.is(restartDelayMs(6400, 10_000), 100, "a run of 10 s starts the back-off over");
});

test("HEALTHCHECK settings: CMD and CMD-SHELL, docker's defaults, NONE is none", () => {
  assert.equal(healthcheckSettings({ Test: ["CMD-SHELL", "curl -f localhost"], Interval: 2e9 }), {
    args: ["/bin/sh", "-c", "curl -f localhost"],
    intervalMs: 2000,
    timeoutMs: 30_000,
    startPeriodMs: 0,
    retries: 3,
  });
  assert.equal(healthcheckSettings({ Test: ["CMD", "true"], Timeout: 5e8, StartPeriod: 1e9, Retries: 1 })?.args, ["true"]);
  assert.is(healthcheckSettings({ Test: ["NONE"] }), undefined);
  assert.is(healthcheckSettings(undefined), undefined);
});

test.run();
