import type { ChmodSpec } from "../frontend/chmod.js";

const WHO_BITS = { u: 0o4700, g: 0o2070, o: 0o1007 } as const;

/**
 * The mode a file gets under `--chmod`: an octal mode as is, or a symbolic one applied to
 * its current mode as chmod(1) does (`u+x`, `go-w,a+r`, `X` only for directories or files
 * already executable by someone). The frontend has checked the syntax.
 */
export function applyChmod(spec: ChmodSpec, mode: number, options: { isDirectory: boolean }): number {
  if ("mode" in spec) return spec.mode;
  let result = mode & 0o7777;
  for (const clause of spec.symbolic.split(",")) {
    const match = /^([ugoa]*)(.*)$/.exec(clause)!;
    const who = match[1] === "" || match[1].includes("a") ? "ugo" : match[1];
    const mask = [...who].reduce((bits, w) => bits | WHO_BITS[w as "u" | "g" | "o"], 0);
    for (const op of match[2].matchAll(/([-+=])([rwxXst]*|[ugo])/g)) {
      const [, operator, perms] = op;
      let bits = 0;
      if (/^[ugo]$/.test(perms)) {
        // Copy another class's permissions: `g=u`.
        const shift = { u: 6, g: 3, o: 0 }[perms as "u" | "g" | "o"];
        const rwx = (result >> shift) & 7;
        bits = (rwx << 6) | (rwx << 3) | rwx;
      } else {
        for (const p of perms) {
          if (p === "r") bits |= 0o444;
          else if (p === "w") bits |= 0o222;
          else if (p === "x") bits |= 0o111;
          else if (p === "X" && (options.isDirectory || (result & 0o111) !== 0)) bits |= 0o111;
          else if (p === "s") bits |= 0o6000;
          else if (p === "t") bits |= 0o1000;
        }
      }
      bits &= mask;
      if (operator === "+") result |= bits;
      else if (operator === "-") result &= ~bits;
      else result = (result & ~mask) | bits;
    }
  }
  return result & 0o7777;
}
