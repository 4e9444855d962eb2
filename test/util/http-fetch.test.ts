import { test } from "uvu";
import * as assert from "uvu/assert";
import { EXTRA_CA_CERTS_VARIABLE, httpFetch } from "../../util/http-fetch.js";
import { serveOverTls, type TlsServer } from "../helpers/tls-server.js";

// bin/tsbuild moves $NODE_EXTRA_CA_CERTS to $TSBUILD_EXTRA_CA_CERTS so that Node does not
// parse it on every start; httpFetch must then trust it as Node would have.

let server: TlsServer;
const saved = process.env[EXTRA_CA_CERTS_VARIABLE];

test.before(async () => {
  server = await serveOverTls("over tls\n");
});

test.after.each(() => {
  if (saved === undefined) delete process.env[EXTRA_CA_CERTS_VARIABLE];
  else process.env[EXTRA_CA_CERTS_VARIABLE] = saved;
});

test.after(async () => {
  await server.close();
});

test("without the variable, a server signed by an unknown CA is refused", async () => {
  delete process.env[EXTRA_CA_CERTS_VARIABLE];
  const error = await httpFetch(server.url).then(
    () => undefined,
    (failure: Error) => failure,
  );
  assert.ok(error, "the test CA must not be trusted by default");
  assert.match(String((error.cause as Error | undefined)?.message ?? error.message), /certificate/i);
});

test("the CA file the variable names is trusted, beside Node's roots", async () => {
  process.env[EXTRA_CA_CERTS_VARIABLE] = server.caFile;
  const response = await httpFetch(`${server.url}/file.txt`);
  assert.is(response.status, 200);
  assert.is(await response.text(), "over tls\n");
});

test("an unreadable file is a warning, as Node makes it, and the default roots stay", async () => {
  process.env[EXTRA_CA_CERTS_VARIABLE] = `${server.caFile}.missing`;
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on("warning", onWarning);
  try {
    const failed = await httpFetch(server.url).then(
      () => false,
      () => true,
    );
    assert.ok(failed, "the server stays untrusted");
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings.filter((message) => message.includes("Ignoring extra certs from") && message.includes(".missing")).length, 1);
  } finally {
    process.off("warning", onWarning);
  }
});

test.run();
