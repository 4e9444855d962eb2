import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { isTsbuildError } from "../../errors.js";
import { parseAuthChallenges } from "../../registry/auth-challenge.js";
import { credentialServerKey, lookupCredentials, serverDomain } from "../../registry/docker-config.js";
import { login, logout } from "../../registry/login.js";
import { pullImage } from "../../registry/pull-image.js";
import { pushImage } from "../../registry/push-image.js";
import { RegistryError, redactUrl } from "../../registry/registry-error.js";
import { createServer } from "node:http";
import { once } from "node:events";
import { startProxy, startRegistry, startTokenServer } from "./registry-fixture.js";
import { makeImage, storeState, withTempDir, workerAt } from "./registry-test-helpers.js";

const USER = "ci";
const PASSWORD = "s3cret-Pa55word";

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** Every text an error shows: message, hint, URL and its causes' messages. */
function shownText(error: Error): string {
  const parts = [error.message, (error as { hint?: string }).hint ?? "", (error as { url?: string }).url ?? ""];
  let cause = error.cause as Error | undefined;
  while (cause !== undefined) {
    parts.push(cause.message ?? "");
    cause = cause.cause as Error | undefined;
  }
  return parts.join("\n");
}

test("WWW-Authenticate challenges are parsed with quoted values, commas and several schemes", () => {
  assert.equal(parseAuthChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), [
    { scheme: "bearer", params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull,push" } },
  ]);
  assert.equal(parseAuthChallenges('Basic realm="Registry \\"Realm\\"", Bearer realm=x'), [
    { scheme: "basic", params: { realm: 'Registry "Realm"' } },
    { scheme: "bearer", params: { realm: "x" } },
  ]);
});

test("login servers are named as docker names them: Docker Hub under its v1 index URL", () => {
  for (const server of ["docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"]) assert.is(serverDomain(server), "docker.io");
  assert.is(credentialServerKey("docker.io"), "https://index.docker.io/v1/");
  assert.is(serverDomain("https://ghcr.io/"), "ghcr.io");
  assert.is(serverDomain("localhost:5000"), "localhost:5000");
  assert.is(credentialServerKey("localhost:5000"), "localhost:5000");
});

test("URLs in errors lose user info and the query (upload state, signatures)", () => {
  assert.is(redactUrl("https://user:pw@registry.example/v2/x/blobs/uploads/abc?_state=secret&digest=sha256:1"), "https://registry.example/v2/x/blobs/uploads/abc");
  const error = new RegistryError("no", { status: 500, url: "https://s3.example/blob?X-Amz-Signature=abc" });
  assert.is(error.url, "https://s3.example/blob");
  assert.is(error.code, "REGISTRY");
});

test("htpasswd: anonymous access is refused clearly; a wrong password fails login and stores nothing; login, push, pull and logout work", async () => {
  await withTempDir(async (dir) => {
    const registry = await startRegistry(dir, { htpasswd: { username: USER, password: PASSWORD } });
    try {
      const dockerConfig = { configDir: join(dir, "docker") };
      const worker = await workerAt(dir, "a");
      const name = `${registry.domain}/private/app:1`;
      const image = await makeImage(worker, name, [{ a: "a" }]);

      const anonymous = await rejection(pushImage(worker, name, { dockerConfig }));
      assert.instance(anonymous, RegistryError);
      assert.is((anonymous as RegistryError).status, 401);
      assert.match(anonymous.message, /requires authentication/);
      assert.is((anonymous as RegistryError).hint, `Log in first: tsbuild login ${registry.domain}`);

      const wrong = await rejection(login(registry.domain, { username: USER, password: "wrong-password" }, { dockerConfig }));
      assert.ok(isTsbuildError(wrong, "REGISTRY"));
      assert.match(wrong.message, /refused the credentials/);
      assert.not.match(shownText(wrong), /wrong-password/);
      assert.is(await stat(join(dir, "docker", "config.json")).catch(() => undefined), undefined);

      assert.equal(await login(registry.domain, { username: USER, password: PASSWORD }, { dockerConfig }), { domain: registry.domain });
      const config = JSON.parse(await readFile(join(dir, "docker", "config.json"), "utf8")) as { auths: Record<string, { auth: string }> };
      assert.is(Buffer.from(config.auths[registry.domain].auth, "base64").toString(), `${USER}:${PASSWORD}`);
      assert.is((await stat(join(dir, "docker", "config.json"))).mode & 0o777, 0o600);

      assert.is((await pushImage(worker, name, { dockerConfig })).digest, image.manifest);
      const target = await workerAt(dir, "b");
      assert.is((await pullImage(target, name, { dockerConfig })).digest, image.manifest);

      // A stored password that no longer works: a clear error, no secret in it, nothing stored.
      const stale = await workerAt(dir, "c");
      const before = await storeState(stale);
      const refused = await rejection(pullImage(stale, name, { credentials: { username: USER, password: "old-password" } }));
      assert.is((refused as RegistryError).status, 401);
      assert.not.match(shownText(refused), /old-password|s3cret/);
      assert.equal(await storeState(stale), before);

      assert.equal(await logout(registry.domain, { dockerConfig }), { domain: registry.domain, removed: true });
      assert.equal(await logout(registry.domain, { dockerConfig }), { domain: registry.domain, removed: false });
      assert.is(await lookupCredentials(registry.domain, dockerConfig), undefined);
    } finally {
      await registry.stop();
    }
  });
});

test("a blob redirected to another origin is fetched there without the registry's credentials", async () => {
  await withTempDir(async (dir) => {
    const registry = await startRegistry(dir, { htpasswd: { username: USER, password: PASSWORD } });
    const credentials = { username: USER, password: PASSWORD };
    const source = await workerAt(dir, "a");
    const image = await makeImage(source, `${registry.domain}/app:1`, [{ a: "a" }]);
    const seen: Array<string | undefined> = [];
    // Blob storage at another origin (another port; as S3 behind a registry): serves blobs, notes the Authorization it got.
    const storage = createServer((req, res) => {
      seen.push(req.headers.authorization);
      const digest = /sha256:[0-9a-f]{64}/.exec(req.url ?? "")?.[0];
      source.store.content.read(digest as `sha256:${string}`).then(
        (data) => res.writeHead(200, { "content-length": data.length }).end(data),
        () => res.writeHead(404).end(),
      );
    });
    storage.listen(0, "127.0.0.1");
    await once(storage, "listening");
    const storageUrl = `http://127.0.0.1:${(storage.address() as { port: number }).port}`;
    const proxy = await startProxy(registry.domain, {
      redirect: (req) => (req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "") && req.headers.authorization !== undefined ? `${storageUrl}/blob/${/sha256:[0-9a-f]{64}/.exec(req.url!)![0]}?X-Signature=abc` : undefined),
    });
    try {
      await pushImage(source, `${registry.domain}/app:1`, { credentials });
      const pulled = await pullImage(await workerAt(dir, "b"), `${proxy.domain}/app:1`, { credentials });
      assert.is(pulled.digest, image.manifest);
      assert.is(seen.length, 2); // config and layer
      assert.equal(seen, [undefined, undefined]);
    } finally {
      await proxy.stop();
      storage.closeAllConnections();
      storage.close();
      await registry.stop();
    }
  });
});

test("token auth: anonymous pulls get a pull-only token, pushes a token for the pushed scope; a wrong password is refused at the token server", async () => {
  await withTempDir(async (dir) => {
    const tokens = await startTokenServer(dir, { [USER]: PASSWORD });
    const registry = await startRegistry(dir, { token: tokens });
    try {
      const worker = await workerAt(dir, "a");
      const name = `${registry.domain}/team/app:1`;
      const image = await makeImage(worker, name, [{ a: "a" }, { b: "b" }]);
      const credentials = { username: USER, password: PASSWORD };

      const denied = await rejection(pushImage(worker, name));
      assert.instance(denied, RegistryError);
      assert.is((denied as RegistryError).status, 401);

      assert.is((await pushImage(worker, name, { credentials })).digest, image.manifest);
      assert.ok(tokens.requests.some((request) => request.user === USER && request.scopes.includes("repository:team/app:pull,push")));

      const anonymous = await pullImage(await workerAt(dir, "b"), name);
      assert.is(anonymous.digest, image.manifest);
      assert.ok(tokens.requests.some((request) => request.user === "" && request.scopes.includes("repository:team/app:pull")));

      const wrong = await rejection(login(registry.domain, { username: USER, password: "nope-nope" }, { dockerConfig: { configDir: join(dir, "docker") } }));
      assert.match(wrong.message, /refused the login: wrong user name or password/);
      assert.not.match(shownText(wrong), /nope-nope/);
      await login(registry.domain, credentials, { dockerConfig: { configDir: join(dir, "docker") } });
    } finally {
      await registry.stop();
      await tokens.stop();
    }
  });
});

test("credentials come from a docker credential helper when config.json names one", async () => {
  await withTempDir(async (dir) => {
    const bin = join(dir, "bin");
    await mkdir(bin);
    const helper = join(bin, "docker-credential-tsbuildtest");
    // A helper that knows one server and logs what it is asked (never the secret) to a file.
    await writeFile(
      helper,
      `#!/bin/sh\nread server\necho "$1 $server" >> ${join(dir, "helper.log")}\nif [ "$1" = get ] && [ "$server" = "registry.example:5000" ]; then echo '{"ServerURL":"registry.example:5000","Username":"helped","Secret":"from-helper"}'; exit 0; fi\necho "credentials not found in native keychain"; exit 1\n`,
    );
    await chmod(helper, 0o755);
    const configDir = join(dir, "docker");
    await mkdir(configDir);
    await writeFile(join(configDir, "config.json"), JSON.stringify({ credHelpers: { "registry.example:5000": "tsbuildtest" }, auths: { "other.example": { auth: Buffer.from("u:p").toString("base64") } } }));
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      assert.equal(await lookupCredentials("registry.example:5000", { configDir }), { username: "helped", password: "from-helper" });
      assert.equal(await lookupCredentials("other.example", { configDir }), { username: "u", password: "p" });
      assert.is(await lookupCredentials("third.example", { configDir }), undefined);
      assert.equal(await lookupCredentials("registry.example:5000", { env: { DOCKER_CONFIG: configDir } }), { username: "helped", password: "from-helper" });
      assert.match(await readFile(join(dir, "helper.log"), "utf8"), /^get registry\.example:5000\n/);
    } finally {
      process.env.PATH = path;
    }
  });
});

test("login and logout go through the credsStore helper, and config.json keeps no secret", async () => {
  await withTempDir(async (dir) => {
    const registry = await startRegistry(dir, { htpasswd: { username: USER, password: PASSWORD } });
    const bin = join(dir, "bin");
    await mkdir(bin);
    const vault = join(dir, "vault.json");
    // A helper keeping one login in a file: store writes stdin there, get prints it, erase removes it.
    await writeFile(
      join(bin, "docker-credential-tsbuildvault"),
      `#!/bin/sh\ncase "$1" in\nstore) cat > ${vault} ;;\nget) cat > /dev/null; [ -f ${vault} ] && cat ${vault} && exit 0; echo "credentials not found in native keychain"; exit 1 ;;\nerase) cat > /dev/null; rm -f ${vault} ;;\nesac\n`,
      { mode: 0o755 },
    );
    const configDir = join(dir, "docker");
    await mkdir(configDir);
    await writeFile(join(configDir, "config.json"), JSON.stringify({ credsStore: "tsbuildvault", psFormat: "kept" }));
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      await login(registry.domain, { username: USER, password: PASSWORD }, { dockerConfig: { configDir } });
      const config = await readFile(join(configDir, "config.json"), "utf8");
      assert.not.match(config, new RegExp(PASSWORD));
      assert.equal(JSON.parse(config), { credsStore: "tsbuildvault", psFormat: "kept", auths: { [registry.domain]: {} } });
      assert.equal(JSON.parse(await readFile(vault, "utf8")), { ServerURL: registry.domain, Username: USER, Secret: PASSWORD });
      assert.equal(await lookupCredentials(registry.domain, { configDir }), { username: USER, password: PASSWORD });
      assert.equal(await logout(registry.domain, { dockerConfig: { configDir } }), { domain: registry.domain, removed: true });
      assert.is(await stat(vault).catch(() => undefined), undefined);
      assert.is(await lookupCredentials(registry.domain, { configDir }), undefined);
    } finally {
      process.env.PATH = path;
      await registry.stop();
    }
  });
});

test.run();
