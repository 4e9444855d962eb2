import { encodeTarHeader, endOfArchive, paddingFor, type TarHeader } from "../../oci/layer-tar-header.js";

/** One entry of a test archive: a path, and whatever header fields the case cares about. */
export type TarSpec = Partial<TarHeader> & { path: string; body?: string | Buffer };

/**
 * A tar archive built entry by entry with the project's own header writer. A path ending in
 * `/` is a directory; defaults are mode 0644 (0755 for directories), owner 0:0, mtime 1.
 */
export function tarOf(entries: TarSpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const spec of entries) {
    const body = Buffer.from(spec.body ?? "");
    const type = spec.type ?? (spec.path.endsWith("/") ? "directory" : "file");
    const path = spec.path.length > 1 ? spec.path.replace(/\/$/, "") : spec.path;
    const mode = spec.mode ?? (type === "directory" ? 0o755 : 0o644);
    const fields = { mode, uid: 0, gid: 0, mtime: 1, linkpath: "", devmajor: 0, devminor: 0, xattrs: new Map<string, Buffer>(), ...spec, path, type };
    parts.push(encodeTarHeader({ ...fields, size: type === "file" ? body.length : 0 }));
    if (type === "file" && body.length > 0) parts.push(body, paddingFor(body.length));
  }
  return Buffer.concat([...parts, endOfArchive()]);
}
