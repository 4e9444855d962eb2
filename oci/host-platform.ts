import type { Platform } from "./image-types.js";

// Node's process.arch names, as Go (and so OCI) names them.
const GO_ARCH: Record<string, string> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64" };

/** This host's platform in OCI terms (`linux`/`amd64`). */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: GO_ARCH[process.arch] ?? process.arch };
}
