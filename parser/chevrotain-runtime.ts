import type * as Chevrotain from "chevrotain";

/**
 * Chevrotain, loaded from its single-file ESM bundle. The package's main entry pulls in
 * some two hundred modules (about 270 ms on a small machine); the bundle with the same API
 * loads in about 10 ms, which keeps every command that parses a Dockerfile quick to start.
 * Falls back to the main entry if a future release drops the bundle.
 */
async function loadChevrotain(): Promise<typeof Chevrotain> {
  try {
    return (await import(new URL("../chevrotain.mjs", import.meta.resolve("chevrotain")).href)) as typeof Chevrotain;
  } catch {
    return import("chevrotain");
  }
}

export const chevrotain: typeof Chevrotain = await loadChevrotain();
