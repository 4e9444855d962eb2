import type { ChildProcess } from "node:child_process";

/**
 * A long-lived helper process (the command shell, the system helper) keeps this process
 * alive only while a request to it waits: `holdOpen` while one does, `letGo` when none does,
 * so a command ends when its work does, not when its helpers do.
 */
export function holdOpen(child: ChildProcess): void {
  child.ref();
  (child.stdout as { ref?: () => void } | null)?.ref?.();
}

export function letGo(child: ChildProcess): void {
  child.unref();
  (child.stdin as { unref?: () => void } | null)?.unref?.();
  (child.stdout as { unref?: () => void } | null)?.unref?.();
}
