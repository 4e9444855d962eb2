import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

/** One response of the test server (BuildKit's util/testutil/httpserver.Response). */
export interface HttpResponse {
  content: Buffer | string;
  etag?: string;
  lastModified?: Date;
}

/** A local HTTP server on 127.0.0.1 serving fixed responses, counting requests per path. */
export interface TestHttpServer {
  url: string;
  requests(path: string): IncomingMessage["method"][];
  close(): Promise<void>;
}

export async function startHttpServer(routes: Record<string, HttpResponse>): Promise<TestHttpServer> {
  const seen = new Map<string, Array<string | undefined>>();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://x").pathname;
    seen.set(path, [...(seen.get(path) ?? []), request.method]);
    const route = routes[path];
    if (route === undefined) {
      response.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = {};
    if (route.etag !== undefined) headers.ETag = `"${route.etag}"`;
    if (route.lastModified !== undefined) headers["Last-Modified"] = route.lastModified.toUTCString();
    if (route.etag !== undefined && request.headers["if-none-match"] === `"${route.etag}"`) {
      response.writeHead(304, headers).end();
      return;
    }
    const body = Buffer.from(route.content);
    response.writeHead(200, { ...headers, "Content-Length": String(body.length) });
    response.end(request.method === "HEAD" ? undefined : body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: (path) => seen.get(path) ?? [],
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
