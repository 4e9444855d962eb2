import { TsbuildError } from "../errors.js";
import { treeXattrs } from "../util/system-helper.js";
import { overlayFlavour } from "./rootless-overlay.js";
import { runCommand } from "./run-command.js";

/**
 * Extended attributes, which Node has no API for: a tree is read by the system helper
 * (util/system-helper.ts) where there is one, else by one `getfattr -R`; a layer's are set
 * by one `setfattr --restore`. So the cost is at most a process per layer, not per file.
 * Only the names layers carry are touched.
 */

/** The xattrs a layer keeps: file capabilities (what `setcap` writes). */
export const LAYER_XATTRS = ["security.capability"];
/** overlayfs marks a directory that hides its lower layers with this xattr set to "y" (`user.` in a user namespace). */
export const OVERLAY_OPAQUE_XATTR = overlayFlavour().opaqueXattr;
/** The names an upper directory's opaque marks may have here (fuse-overlayfs has its own). */
export const OVERLAY_OPAQUE_XATTRS = overlayFlavour().opaqueXattrs;

export type XattrTable = Map<string, Map<string, Buffer>>;

/**
 * Reads the attributes `names` of every file under `dir`, without following symlinks.
 * Keys are absolute paths; files without any of the attributes are absent.
 */
export async function readTreeXattrs(dir: string, names: string[]): Promise<XattrTable> {
  const read = await treeXattrs(dir, names);
  if (read !== undefined) return read;
  const pattern = `^(${names.map((n) => n.replace(/[.]/g, "\\.")).join("|")})$`;
  const { stdout } = await runCommand("getfattr", ["-R", "-P", "-h", "-d", "-m", pattern, "-e", "hex", "--absolute-names", dir], {
    // getfattr reports 1 when some file had no readable attributes; its output is still whole.
    okStatuses: [0, 1],
  }).catch(explainMissing);
  const table: XattrTable = new Map();
  let current: Map<string, Buffer> | undefined;
  for (const line of stdout.toString("latin1").split("\n")) {
    if (line.startsWith("# file: ")) {
      current = new Map();
      table.set(unescapeName(line.slice("# file: ".length)), current);
    } else if (current !== undefined && line.includes("=")) {
      const equals = line.indexOf("=");
      const value = line.slice(equals + 1);
      current.set(line.slice(0, equals), value.startsWith("0x") ? Buffer.from(value.slice(2), "hex") : Buffer.from(value.replace(/^"|"$/g, "")));
    }
  }
  return table;
}

/** Sets attributes on many files at once; `path` absolute. */
export async function writeXattrs(items: Array<{ path: string; name: string; value: Buffer }>): Promise<void> {
  if (items.length === 0) return;
  const lines: string[] = [];
  for (const item of items) {
    lines.push(`# file: ${escapeName(item.path)}`, `${item.name}=0x${item.value.toString("hex")}`, "");
  }
  await runCommand("setfattr", ["-h", "--restore=-"], { input: Buffer.from(lines.join("\n"), "latin1") }).catch(explainMissing);
}

function explainMissing(error: unknown): never {
  if (error instanceof TsbuildError && error.message.includes("program not found")) {
    throw new TsbuildError("SYSTEM", `${error.message}: layers keep file capabilities through the attr tools`, {
      cause: error,
      hint: "Install the attr package (apt-get install attr)",
    });
  }
  throw error;
}

/** getfattr writes file names byte by byte, escaping backslash and unprintable bytes as `\ooo`. */
function unescapeName(text: string): string {
  const bytes = Buffer.from(text.replace(/\\(\\|[0-7]{3})/g, (_, code: string) => (code === "\\" ? "\\" : String.fromCharCode(parseInt(code, 8)))), "latin1");
  return bytes.toString("utf8");
}

function escapeName(path: string): string {
  let out = "";
  for (const byte of Buffer.from(path, "utf8")) {
    out += byte > 0x20 && byte < 0x7f && byte !== 0x5c ? String.fromCharCode(byte) : `\\${byte.toString(8).padStart(3, "0")}`;
  }
  return out;
}
