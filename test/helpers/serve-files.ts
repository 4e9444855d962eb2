import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";

/**
 * Serves the files under `dir` on 127.0.0.1, as Go's http.FileServer does: enough for git's
 * "dumb" HTTP protocol over a repository after `git update-server-info`. `prefix` is cut from
 * request paths first (`/repo.git`). Nothing outside `dir` is served.
 */
export async function serveFiles(dir: string, options: { prefix?: string } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    let urlPath = decodeURIComponent((request.url ?? "/").split("?")[0]);
    if (options.prefix !== undefined && urlPath.startsWith(options.prefix)) urlPath = urlPath.slice(options.prefix.length);
    const path = normalize(join(dir, urlPath));
    if (path !== dir && !path.startsWith(`${dir}/`)) return void response.writeHead(403).end();
    stat(path).then(
      (info) => (info.isFile() ? createReadStream(path).pipe(response.writeHead(200)) : response.writeHead(404).end()),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
