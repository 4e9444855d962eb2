import { TsbuildError } from "../errors.js";

/**
 * The tar header format of layer archives: POSIX ustar blocks plus PAX extended headers for
 * what ustar cannot hold (long or non-ASCII names, big numbers, xattrs). Written by hand
 * because node-tar's Pax class neither writes `SCHILY.xattr.*` records nor reads binary
 * values intact (it decodes the PAX body as UTF-8 and cuts values at NUL bytes), and
 * capability xattrs are binary.
 */

export const BLOCK_SIZE = 512;

export type TarEntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "directory" | "fifo";

/** One entry's header, after PAX records have been applied. */
export interface TarHeader {
  /** Path as stored, without a trailing slash for directories. */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid, setgid and sticky (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkpath: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from `SCHILY.xattr.<name>` records, raw bytes. */
  xattrs: Map<string, Buffer>;
}

/** What encodeTarHeader needs: a header whose xattrs it only reads. */
export type EncodableTarHeader = Omit<TarHeader, "xattrs"> & { xattrs: ReadonlyMap<string, Buffer> };

const TYPE_FLAGS: Record<TarEntryType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  directory: "5",
  fifo: "6",
};

const XATTR_PREFIX = "SCHILY.xattr.";

/**
 * Encodes one entry as its header block(s): a PAX header first when needed, then the ustar
 * block. uname and gname stay empty and atime/ctime are never written, so the bytes depend
 * only on the fields given.
 */
export function encodeTarHeader(header: EncodableTarHeader): Buffer {
  // Runs once per entry of a layer (tens of thousands): no closure or array per call, as
  // every function made here costs a name definition in the bundle (esbuild's keepNames).
  // Most entries need no PAX record: the array is made only for those that do.
  let records: Array<[string, Buffer]> | undefined;
  let name = header.type === "directory" ? `${header.path}/` : header.path;
  if (!fitsUstar(name)) {
    records = addRecord(records, "path", Buffer.from(name));
    name = truncateBytes(name, 100);
  }
  let linkpath = header.linkpath;
  if (!fitsUstar(linkpath)) {
    records = addRecord(records, "linkpath", Buffer.from(linkpath));
    linkpath = truncateBytes(linkpath, 100);
  }
  // Numbers too big for their octal field go into PAX records, the field holding 0.
  const { uid, gid, size, mtime } = header;
  if (uid >= OCTAL_7_LIMIT) records = addRecord(records, "uid", Buffer.from(String(uid)));
  if (gid >= OCTAL_7_LIMIT) records = addRecord(records, "gid", Buffer.from(String(gid)));
  if (size >= OCTAL_11_LIMIT) records = addRecord(records, "size", Buffer.from(String(size)));
  if (mtime >= OCTAL_11_LIMIT) records = addRecord(records, "mtime", Buffer.from(String(mtime)));
  if (header.xattrs.size > 0) {
    for (const key of [...header.xattrs.keys()].sort()) records = addRecord(records, XATTR_PREFIX + key, header.xattrs.get(key)!);
  }

  const block = newBlock();
  block.write(name, 0, 100, "utf8");
  writeOctal(block, 100, 8, header.mode & 0o7777);
  writeOctal(block, 108, 8, uid < OCTAL_7_LIMIT ? uid : 0);
  writeOctal(block, 116, 8, gid < OCTAL_7_LIMIT ? gid : 0);
  writeOctal(block, 124, 12, size < OCTAL_11_LIMIT ? size : 0);
  writeOctal(block, 136, 12, mtime < OCTAL_11_LIMIT ? mtime : 0);
  block[156] = TYPE_FLAGS[header.type].charCodeAt(0);
  block.write(linkpath, 157, 100, "utf8");
  writeOctal(block, 329, 8, header.devmajor);
  writeOctal(block, 337, 8, header.devminor);
  writeChecksum(block);

  if (records === undefined) return block;
  return Buffer.concat([encodePaxHeader(header.path, records), block]);
}

/** The first values the 8- and 12-byte octal fields (7 and 11 digits) cannot hold. */
const OCTAL_7_LIMIT = 8 ** 7;
const OCTAL_11_LIMIT = 8 ** 11;

/** `records` with one more PAX record, made on the first. */
function addRecord(records: Array<[string, Buffer]> | undefined, key: string, value: Buffer): Array<[string, Buffer]> {
  const list = records ?? [];
  list.push([key, value]);
  return list;
}

/** A name or link target the ustar field holds as it is: at most 100 printable ASCII characters. */
function fitsUstar(text: string): boolean {
  return text.length <= 100 && isPlainAscii(text);
}

/** The two zero blocks that end an archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(BLOCK_SIZE * 2);
}

/** Zero bytes that pad a body of `size` bytes to a whole block. */
export function paddingFor(size: number): Buffer {
  const rest = size % BLOCK_SIZE;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK_SIZE - rest);
}

function encodePaxHeader(path: string, records: Array<[string, Buffer]>): Buffer {
  const body = Buffer.concat(records.map(([key, value]) => encodePaxRecord(key, value)));
  const base = path.split("/").pop() ?? "";
  const block = newBlock();
  // Go's archive/tar (and so docker) names these PaxHeaders.0/<base>; any name works.
  block.write(truncateBytes(`PaxHeaders.0/${base}`, 100), 0, 100, "utf8");
  writeOctal(block, 100, 8, 0o644);
  writeOctal(block, 108, 8, 0);
  writeOctal(block, 116, 8, 0);
  writeOctal(block, 124, 12, body.length);
  writeOctal(block, 136, 12, 0);
  block.write("x", 156, 1, "ascii");
  writeChecksum(block);
  return Buffer.concat([block, body, paddingFor(body.length)]);
}

/** `"<len> <key>=<value>\n"` where len counts the whole record, its own digits included. */
function encodePaxRecord(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(key) + value.length + 3; // space, '=', newline
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from("\n")]);
}

/** `value` as `width - 1` octal digits (zero-padded) and a NUL; it must fit. */
function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  let rest = value;
  for (let at = offset + width - 2; at >= offset; at--) {
    block[at] = 0x30 + (rest % 8);
    rest = Math.floor(rest / 8);
  }
  block[offset + width - 1] = 0;
}

function writeChecksum(block: Buffer): void {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) sum += block[i];
  writeOctal(block, 148, 7, sum);
  block[155] = 0x20;
}

/**
 * A zeroed header block with the ustar magic and version in place. Blocks are cut from
 * larger slabs: one allocation per 128 headers instead of one each, which the garbage
 * collector notices with tens of thousands of entries. A block is never written again once
 * returned, so sharing a slab is safe.
 */
function newBlock(): Buffer {
  if (slabUsed + BLOCK_SIZE > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
  }
  const block = slab.subarray(slabUsed, slabUsed + BLOCK_SIZE);
  slabUsed += BLOCK_SIZE;
  EMPTY_BLOCK.copy(block);
  return block;
}

const SLAB_SIZE = 128 * BLOCK_SIZE;
let slab = Buffer.alloc(0);
let slabUsed = 0;
const EMPTY_BLOCK = Buffer.alloc(BLOCK_SIZE);
EMPTY_BLOCK.write("ustar\u000000", 257, 8, "ascii");

function isPlainAscii(text: string): boolean {
  return /^[\x20-\x7e]*$/.test(text);
}

function truncateBytes(text: string, max: number): string {
  const bytes = Buffer.from(text);
  return bytes.length <= max ? text : bytes.subarray(0, max).toString("latin1");
}

// ---- decoding -------------------------------------------------------------------------

/** A raw header block, before PAX or GNU long-name records are applied. */
export interface RawTarHeader {
  name: string;
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
}

/** True for an all-zero block (end of archive). */
export function isZeroBlock(block: Buffer): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

/** Decodes one 512-byte header block; throws INVALID_ARCHIVE on a bad checksum or field. */
export function decodeTarBlock(block: Buffer, where: string): RawTarHeader {
  const stored = parseNumber(block, 148, 8, where, "checksum");
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) {
    throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: header checksum mismatch ${where}`, {
      hint: "The archive is corrupt or not a tar file",
    });
  }
  const isUstar = block.toString("latin1", 257, 262) === "ustar";
  let name = readString(block, 0, 100);
  if (isUstar) {
    const prefix = readString(block, 345, 155);
    // GNU tar puts atime/ctime where POSIX has the prefix; it never sets "ustar\0".
    if (prefix !== "" && block.toString("latin1", 257, 263) === "ustar\u0000") name = `${prefix}/${name}`;
  }
  return {
    name,
    typeflag: String.fromCharCode(block[156] === 0 ? 0x30 : block[156]),
    mode: parseNumber(block, 100, 8, where, "mode"),
    uid: parseNumber(block, 108, 8, where, "uid"),
    gid: parseNumber(block, 116, 8, where, "gid"),
    size: parseNumber(block, 124, 12, where, "size"),
    mtime: parseNumber(block, 136, 12, where, "mtime"),
    linkname: readString(block, 157, 100),
    devmajor: isUstar ? parseNumber(block, 329, 8, where, "devmajor") : 0,
    devminor: isUstar ? parseNumber(block, 337, 8, where, "devminor") : 0,
  };
}

/** Parses a PAX extended header body into records; values stay raw bytes. */
export function parsePaxRecords(body: Buffer, where: string): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  let at = 0;
  while (at < body.length) {
    if (body[at] === 0) break; // some writers pad the body with NULs
    const space = body.indexOf(0x20, at);
    const length = space < 0 ? NaN : Number(body.toString("ascii", at, space));
    if (!Number.isSafeInteger(length) || length <= 0 || at + length > body.length || body[at + length - 1] !== 0x0a) {
      throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: malformed PAX record ${where}`);
    }
    const record = body.subarray(space + 1, at + length - 1);
    const equals = record.indexOf(0x3d);
    if (equals <= 0) throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: malformed PAX record ${where}`);
    records.set(record.toString("utf8", 0, equals), Buffer.from(record.subarray(equals + 1)));
    at += length;
  }
  return records;
}

/** Applies PAX records (and GNU long names) to a raw header. */
export function resolveTarHeader(
  raw: RawTarHeader,
  options: { pax: Map<string, Buffer>; where: string },
): Omit<TarHeader, "type"> & { typeflag: string } {
  const { pax, where } = options;
  const xattrs = new Map<string, Buffer>();
  const header = {
    path: raw.name,
    typeflag: raw.typeflag,
    mode: raw.mode & 0o7777,
    uid: raw.uid,
    gid: raw.gid,
    size: raw.size,
    mtime: raw.mtime,
    linkpath: raw.linkname,
    devmajor: raw.devmajor,
    devminor: raw.devminor,
    xattrs,
  };
  for (const [key, value] of pax) {
    const text = () => value.toString("utf8");
    const number = () => {
      const parsed = Number(text());
      if (!Number.isFinite(parsed) || parsed < 0) {
        throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: PAX record "${key}" has a bad value ${where}`);
      }
      return parsed;
    };
    if (key === "path") header.path = text();
    else if (key === "linkpath") header.linkpath = text();
    else if (key === "size") header.size = number();
    else if (key === "uid") header.uid = number();
    else if (key === "gid") header.gid = number();
    else if (key === "mtime") header.mtime = Math.floor(number());
    else if (key.startsWith(XATTR_PREFIX)) xattrs.set(key.slice(XATTR_PREFIX.length), value);
  }
  if (!Number.isSafeInteger(header.size)) {
    throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: size "${header.size}" is too big ${where}`);
  }
  return header;
}

/** The entry type for a typeflag, or undefined for types layers never use (sparse, volume ...). */
export function entryTypeOf(typeflag: string): TarEntryType | undefined {
  switch (typeflag) {
    case "0":
    case "7": // contiguous file: a regular file everywhere that matters
      return "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "3":
      return "char";
    case "4":
      return "block";
    case "5":
      return "directory";
    case "6":
      return "fifo";
    default:
      return undefined;
  }
}

function readString(block: Buffer, offset: number, width: number): string {
  const end = block.indexOf(0, offset);
  return block.toString("utf8", offset, end < 0 || end > offset + width ? offset + width : end);
}

function parseNumber(block: Buffer, offset: number, width: number, where: string, field: string): number {
  // GNU base-256: high bit of the first byte set, big-endian two's complement.
  if (block[offset] & 0x80) {
    if (block[offset] & 0x40) {
      throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: negative ${field} ${where}`);
    }
    let value = block[offset] & 0x3f;
    for (let i = 1; i < width; i++) value = value * 256 + block[offset + i];
    if (!Number.isSafeInteger(value)) {
      throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: ${field} is too big ${where}`);
    }
    return value;
  }
  const text = block.toString("latin1", offset, offset + width).replace(/[\0 ]+$/, "").replace(/^[\0 ]+/, "");
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) {
    throw new TsbuildError("INVALID_ARCHIVE", `Cannot read layer: ${field} field "${text}" is not an octal number ${where}`, {
      hint: "The archive is corrupt or not a tar file",
    });
  }
  return parseInt(text, 8);
}
