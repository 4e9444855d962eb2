import { readFileSync } from "node:fs";

/**
 * The variable the `tsbuild` command (bin/tsbuild) moves `NODE_EXTRA_CA_CERTS` to. Node
 * reads and parses that file, and its whole root store with it, when it starts: about 40 ms
 * of every command on a machine that sets it, though most commands never open a TLS
 * connection. Moved aside, the certificates are read here instead, on the first HTTPS
 * request only.
 */
export const EXTRA_CA_CERTS_VARIABLE = "TSBUILD_EXTRA_CA_CERTS";

/** A dispatcher trusting Node's roots and one file's certificates, per file; undefined when the file cannot be read. */
const dispatchers = new Map<string, Promise<ExtraCaFetch | undefined>>();

type ExtraCaFetch = (input: URL | string, init?: RequestInit) => Promise<Response>;

/**
 * `fetch`, trusting the certificates of `$TSBUILD_EXTRA_CA_CERTS` as well as Node's own
 * roots for HTTPS, as Node trusts `$NODE_EXTRA_CA_CERTS`. Without that variable (or for
 * plain HTTP) it is Node's `fetch` itself.
 */
export async function httpFetch(input: URL | string, init?: RequestInit): Promise<Response> {
  const file = process.env[EXTRA_CA_CERTS_VARIABLE];
  const url = typeof input === "string" ? new URL(input) : input;
  if (file === undefined || file === "" || url.protocol !== "https:") return fetch(url, init);
  let made = dispatchers.get(file);
  if (made === undefined) {
    made = extraCaFetch(file);
    dispatchers.set(file, made);
  }
  const withCa = await made;
  return withCa === undefined ? fetch(url, init) : withCa(url, init);
}

/**
 * undici's own `fetch` with an agent whose TLS connections trust the file's certificates
 * too (a `ca` list replaces the default roots, so they are listed with it). Node 20 cannot
 * add certificates to the store its `fetch` uses once it runs. An unreadable file is what
 * Node makes of one: a warning, and the default roots.
 */
async function extraCaFetch(file: string): Promise<ExtraCaFetch | undefined> {
  let extra: string;
  try {
    extra = readFileSync(file, "utf8");
  } catch (error) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(error as Error).message}`);
    return undefined;
  }
  // Loaded here: most commands make no HTTPS request.
  const [undici, { rootCertificates }] = await Promise.all([import("undici"), import("node:tls")]);
  const dispatcher = new undici.Agent({ connect: { ca: [...rootCertificates, extra] } });
  // undici's Response is the same WHATWG type as the global one that callers handle.
  return (input, init) => undici.fetch(input, { ...(init as object), dispatcher }) as unknown as Promise<Response>;
}
