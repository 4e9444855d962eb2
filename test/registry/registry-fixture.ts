import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { createSign, randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";

/** A CNCF distribution registry this test started on 127.0.0.1. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`: the domain references use. */
  domain: string;
  /** Its storage root (`docker/registry/v2/...` below). */
  dataDir: string;
  stop(): Promise<void>;
}

export interface RegistryAuth {
  htpasswd?: { username: string; password: string };
  token?: TestTokenServer;
}

/** A free TCP port on 127.0.0.1 (released again; the registry takes it right after). */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

/** A bcrypt htpasswd line, made with the system's crypt(3) through perl (libxcrypt knows $2b$). */
export function htpasswdLine(username: string, password: string): string {
  const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const salt = [...randomBytes(21)].map((byte) => alphabet[byte % 64]).join("") + "e";
  const hash = execFileSync("perl", ["-e", "print crypt($ARGV[0], $ARGV[1])", password, `$2b$05$${salt}`], { encoding: "utf8" });
  if (!hash.startsWith("$2b$05$")) throw new Error("perl's crypt() made no bcrypt hash");
  return `${username}:${hash}\n`;
}

/**
 * Starts `docker-registry serve` with its config and storage in `dir`; resolves once it
 * answers. A port taken between our probe and the registry's listen is tried again.
 */
export async function startRegistry(dir: string, auth: RegistryAuth = {}): Promise<TestRegistry> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startRegistryOnce(dir, auth, await freePort());
    } catch (error) {
      if (attempt >= 3 || !/address already in use/.test(String(error))) throw error;
    }
  }
}

async function startRegistryOnce(dir: string, auth: RegistryAuth, port: number): Promise<TestRegistry> {
  const dataDir = join(dir, "registry-data");
  const lines = [
    "version: 0.1",
    "log: {level: error, accesslog: {disabled: true}}",
    `storage: {filesystem: {rootdirectory: ${dataDir}}, delete: {enabled: true}, cache: {blobdescriptor: inmemory}}`,
    `http: {addr: "127.0.0.1:${port}"}`,
  ];
  if (auth.htpasswd !== undefined) {
    const path = join(dir, "htpasswd");
    await writeFile(path, htpasswdLine(auth.htpasswd.username, auth.htpasswd.password));
    lines.push(`auth: {htpasswd: {realm: tsbuild-test, path: ${path}}}`);
  }
  if (auth.token !== undefined) {
    const { realm, service, issuer, certPath } = auth.token;
    lines.push(`auth: {token: {realm: "${realm}", service: ${service}, issuer: ${issuer}, rootcertbundle: ${certPath}}}`);
  }
  const config = join(dir, "registry.yml");
  await writeFile(config, `${lines.join("\n")}\n`);
  const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = once(child, "exit");
  const stop = async (): Promise<void> => stopChild(child, exited);
  const domain = `127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited: ${stderr}`);
    const ok = await fetch(`http://${domain}/v2/`).then(
      () => true,
      () => false,
    );
    if (ok) break;
    if (Date.now() - started > 15_000) {
      await stop();
      throw new Error(`docker-registry did not answer on ${domain}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { domain, dataDir, stop };
}

async function stopChild(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

/** The registry's file of a blob: tamper with it to make a corrupt blob. */
export function registryBlobPath(registry: TestRegistry, digest: string): string {
  const hex = digest.slice("sha256:".length);
  return join(registry.dataDir, "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
}

/** Flips bytes in the middle of a file, keeping its size. */
export async function corruptFile(path: string): Promise<void> {
  const data = await readFile(path);
  const middle = Math.floor(data.length / 2);
  for (let i = middle; i < Math.min(data.length, middle + 8); i++) data[i] ^= 0xff;
  await writeFile(path, data);
}

/** A token server (docker's token protocol) that signs JWTs with a self-signed certificate. */
export interface TestTokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  /** Every token request: the user (or "" for anonymous) and the scopes asked. */
  requests: Array<{ user: string; scopes: string[] }>;
  stop(): Promise<void>;
}

/**
 * Starts a token server on 127.0.0.1: valid credentials get every action they ask for,
 * anonymous requests get `pull` only, wrong credentials get 401.
 */
export async function startTokenServer(dir: string, users: Record<string, string>): Promise<TestTokenServer> {
  const keyPath = join(dir, "token.key");
  const certPath = join(dir, "token.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=tsbuild-test-token"], { stdio: "ignore" });
  const key = await readFile(keyPath, "utf8");
  const certDer = (await readFile(certPath, "utf8")).replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  const service = "tsbuild-test-registry";
  const issuer = "tsbuild-test-issuer";
  const requests: TestTokenServer["requests"] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const scopes = url.searchParams.getAll("scope");
    let user = "";
    const header = req.headers.authorization;
    if (header !== undefined) {
      const [name, password] = Buffer.from(header.replace(/^Basic /, ""), "base64").toString("utf8").split(":");
      if (users[name] !== password) {
        res.writeHead(401, { "content-type": "application/json" }).end('{"details":"wrong credentials"}');
        return;
      }
      user = name;
    }
    requests.push({ user, scopes });
    const access = scopes.flatMap((scope) => {
      const [type, name, actions] = scope.split(":");
      const granted = actions.split(",").filter((action) => user !== "" || action === "pull");
      return [{ type, name, actions: granted }];
    });
    const now = Math.floor(Date.now() / 1000);
    const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");
    const head = encode({ alg: "RS256", typ: "JWT", x5c: [certDer] });
    const claims = encode({ iss: issuer, sub: user, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString("hex"), access });
    const signature = createSign("RSA-SHA256").update(`${head}.${claims}`).sign(key).toString("base64url");
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: `${head}.${claims}.${signature}`, expires_in: 300 }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close").catch(() => undefined);
    },
  };
}

/** What a `TestProxy` does to requests it forwards. */
export interface ProxyRules {
  /** Answer this status instead of forwarding, while it returns one. */
  fail?: (req: IncomingMessage) => number | undefined;
  /** Cut the response body off after this many bytes (destroying the connection), while it returns one. */
  cutAfter?: (req: IncomingMessage) => number | undefined;
  /** Answer `307 Temporary Redirect` to this URL instead of forwarding, while it returns one. */
  redirect?: (req: IncomingMessage) => string | undefined;
  /** Forward this many bytes of the response, then hold the rest until the proxy stops. */
  stallAfter?: (req: IncomingMessage) => number | undefined;
}

/** A proxy in front of a registry on 127.0.0.1 that can fail, cut or stall what it forwards. */
export interface TestProxy {
  domain: string;
  /** Every request seen: method, path, range header. */
  seen: Array<{ method: string; path: string; range?: string }>;
  stop(): Promise<void>;
}

export async function startProxy(target: string, rules: ProxyRules = {}): Promise<TestProxy> {
  const seen: TestProxy["seen"] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? "", path: req.url ?? "", ...(req.headers.range === undefined ? {} : { range: req.headers.range }) });
    const status = rules.fail?.(req);
    if (status !== undefined) {
      req.resume();
      res.writeHead(status, { "content-type": "application/json", "retry-after": "0" }).end('{"errors":[{"code":"UNAVAILABLE","message":"test proxy says no"}]}');
      return;
    }
    const location = rules.redirect?.(req);
    if (location !== undefined) {
      req.resume();
      res.writeHead(307, { location }).end();
      return;
    }
    const cut = rules.cutAfter?.(req);
    const stall = rules.stallAfter?.(req);
    const [host, port] = target.split(":");
    const upstream = httpRequest({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (response) => {
      const headers = { ...response.headers };
      // Locations the registry gives are absolute: keep the client talking to the proxy.
      if (typeof headers.location === "string") headers.location = headers.location.replace(`http://${target}`, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
      res.writeHead(response.statusCode ?? 502, headers);
      let sent = 0;
      response.on("data", (chunk: Buffer) => {
        if (cut !== undefined && sent + chunk.length > cut) {
          res.write(chunk.subarray(0, Math.max(0, cut - sent)));
          response.destroy();
          res.destroy();
          return;
        }
        if (stall !== undefined && sent + chunk.length > stall) {
          res.write(chunk.subarray(0, Math.max(0, stall - sent)));
          sent = stall;
          response.pause();
          return;
        }
        sent += chunk.length;
        if (!res.write(chunk)) {
          response.pause();
          res.once("drain", () => response.resume());
        }
      });
      response.on("end", () => res.end());
    });
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return {
    domain: `127.0.0.1:${port}`,
    seen,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, "close").catch(() => undefined);
    },
  };
}
