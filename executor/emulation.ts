import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { TsbuildError } from "../errors.js";
import { hostPlatform } from "../oci/host-platform.js";
import type { Platform } from "../oci/image-types.js";

/** An OS/architecture pair as OCI names it (`linux`/`arm64`, variant `v7`). */
export type EmulatedPlatform = Pick<Platform, "os" | "architecture" | "variant">;

/** `linux/arm/v7` as a platform (text the frontend formatted). */
export function platformOf(text: string): EmulatedPlatform {
  const [os = "", architecture = "", variant] = text.split("/");
  return variant === undefined || variant === "" ? { os, architecture } : { os, architecture, variant };
}

/** Where the kernel lists its binfmt_misc handlers. */
export const BINFMT_MISC_DIR = "/proc/sys/fs/binfmt_misc";

/** How a platform's executables start: ELF class (1 = 32-bit, 2 = 64-bit), byte order, e_machine. */
interface ElfIdentity {
  elfClass: 1 | 2;
  littleEndian: boolean;
  machine: number;
}

// Go architecture names (OCI's) to the ELF header their binaries carry.
const ELF_IDENTITY: Record<string, ElfIdentity> = {
  amd64: { elfClass: 2, littleEndian: true, machine: 62 },
  "386": { elfClass: 1, littleEndian: true, machine: 3 },
  arm64: { elfClass: 2, littleEndian: true, machine: 183 },
  arm: { elfClass: 1, littleEndian: true, machine: 40 },
  ppc64le: { elfClass: 2, littleEndian: true, machine: 21 },
  ppc64: { elfClass: 2, littleEndian: false, machine: 21 },
  s390x: { elfClass: 2, littleEndian: false, machine: 22 },
  riscv64: { elfClass: 2, littleEndian: true, machine: 243 },
  mips64le: { elfClass: 2, littleEndian: true, machine: 8 },
  mips64: { elfClass: 2, littleEndian: false, machine: 8 },
  mipsle: { elfClass: 1, littleEndian: true, machine: 8 },
  mips: { elfClass: 1, littleEndian: false, machine: 8 },
  loong64: { elfClass: 2, littleEndian: true, machine: 258 },
};

const INSTALL_HINT = "install QEMU user emulation: apt-get install qemu-user-static binfmt-support (it registers its handlers with binfmt_misc)";

/** One registered handler of binfmt_misc, as its file there says. */
interface BinfmtHandler {
  name: string;
  enabled: boolean;
  interpreter: string;
  flags: string;
  offset: number;
  magic: Buffer;
  mask: Buffer;
}

/**
 * Checks that this host can run `platform`'s programs, before a step or container starts
 * one: natively (its own architecture, or 386 on amd64), or through an enabled binfmt_misc
 * handler for the platform's ELF binaries registered with the F flag (the kernel opens the
 * emulator when it is registered, so a sandbox needs no emulator inside), as BuildKit and
 * docker rely on QEMU user emulation. Otherwise a SYSTEM error says what to install.
 *
 * `binfmtDir` (default $TSBUILD_BINFMT_MISC, else /proc/sys/fs/binfmt_misc) is where the
 * kernel's handlers are listed.
 */
export async function checkEmulation(platform: EmulatedPlatform, options: { binfmtDir?: string } = {}): Promise<void> {
  const name = [platform.os, platform.architecture, platform.variant].filter((part) => part).join("/");
  const hostArch = hostPlatform().architecture;
  if (platform.os !== "linux") {
    throw new TsbuildError("SYSTEM", `Cannot run programs for "${name}": only linux programs run here`, { hint: "Build for a linux platform, such as --platform linux/arm64" });
  }
  if (platform.architecture === hostArch || (hostArch === "amd64" && platform.architecture === "386")) return;
  const identity = ELF_IDENTITY[platform.architecture];
  if (identity === undefined) {
    throw new TsbuildError("SYSTEM", `Cannot run programs for "${name}": tsbuild knows no emulation for architecture "${platform.architecture}"`, {
      hint: `Known architectures: ${Object.keys(ELF_IDENTITY).join(", ")}`,
    });
  }
  const dir = options.binfmtDir ?? process.env.TSBUILD_BINFMT_MISC ?? BINFMT_MISC_DIR;
  const status = await readFile(join(dir, "status"), "utf8").catch((error: NodeJS.ErrnoException) => {
    // Missing: binfmt_misc is not mounted there; any other failure is reported as it is.
    if (error.code === "ENOENT") return undefined;
    throw new TsbuildError("SYSTEM", `Cannot read "${join(dir, "status")}": ${error.message}`, { cause: error });
  });
  if (status === undefined) {
    throw new TsbuildError("SYSTEM", `Cannot run programs for "${name}" on this ${hostArch} host: binfmt_misc is not mounted at ${dir}, so no emulator can start them`, {
      hint: `mount -t binfmt_misc binfmt_misc ${dir}; ${INSTALL_HINT}`,
    });
  }
  if (status.trim() !== "enabled") {
    throw new TsbuildError("SYSTEM", `Cannot run programs for "${name}" on this ${hostArch} host: binfmt_misc is disabled`, { hint: `echo 1 > ${join(dir, "status")}` });
  }
  const header = elfHeader(identity);
  const handlers = (await readHandlers(dir)).filter((handler) => matches(handler, header));
  const usable = handlers.find((handler) => handler.enabled && handler.flags.includes("F"));
  if (usable !== undefined) return;
  if (handlers.some((handler) => handler.enabled)) {
    throw new TsbuildError("SYSTEM", `Cannot run programs for "${name}": its emulator is registered without binfmt_misc's F flag, so a sandbox cannot reach it`, {
      hint: "Register it with the F (fix-binary) flag, as Debian's qemu-user-static does: update-binfmts --enable",
    });
  }
  throw new TsbuildError("SYSTEM", `Cannot run programs for "${name}" on this ${hostArch} host: no emulator for ${platform.architecture} is registered with binfmt_misc`, {
    hint: `I${INSTALL_HINT.slice(1)}`,
  });
}

/** The first 20 bytes of an executable of the platform: ident, e_type EXEC, e_machine. */
function elfHeader(identity: ElfIdentity): Buffer {
  const header = Buffer.alloc(20);
  header.set([0x7f, 0x45, 0x4c, 0x46, identity.elfClass, identity.littleEndian ? 1 : 2, 1]);
  if (identity.littleEndian) {
    header.writeUInt16LE(2, 16);
    header.writeUInt16LE(identity.machine, 18);
  } else {
    header.writeUInt16BE(2, 16);
    header.writeUInt16BE(identity.machine, 18);
  }
  return header;
}

/** True when the kernel would hand a file starting with `header` to this handler. */
function matches(handler: BinfmtHandler, header: Buffer): boolean {
  if (handler.magic.length === 0 || handler.offset + handler.magic.length > header.length) return false;
  for (let i = 0; i < handler.magic.length; i++) {
    const mask = handler.mask.length > i ? handler.mask[i] : 0xff;
    if ((header[handler.offset + i] & mask) !== (handler.magic[i] & mask)) return false;
  }
  return true;
}

async function readHandlers(dir: string): Promise<BinfmtHandler[]> {
  const handlers: BinfmtHandler[] = [];
  for (const name of await readdir(dir)) {
    if (name === "status" || name === "register") continue;
    // A handler removed while we read is simply not there.
    const text = await readFile(join(dir, name), "utf8").catch(() => undefined);
    if (text !== undefined) handlers.push(parseHandler(name, text));
  }
  return handlers;
}

/** A handler file: `enabled`, `interpreter PATH`, `flags: PF`, `offset N`, `magic HEX`, `mask HEX` (extension handlers have no magic). */
function parseHandler(name: string, text: string): BinfmtHandler {
  const handler: BinfmtHandler = { name, enabled: false, interpreter: "", flags: "", offset: 0, magic: Buffer.alloc(0), mask: Buffer.alloc(0) };
  for (const line of text.split("\n")) {
    const [field, ...rest] = line.trim().split(/\s+/);
    const value = rest.join(" ");
    if (field === "enabled") handler.enabled = true;
    else if (field === "interpreter") handler.interpreter = value;
    else if (field === "flags:") handler.flags = value;
    else if (field === "offset") handler.offset = Number(value) || 0;
    else if (field === "magic") handler.magic = Buffer.from(value, "hex");
    else if (field === "mask") handler.mask = Buffer.from(value, "hex");
  }
  return handler;
}
