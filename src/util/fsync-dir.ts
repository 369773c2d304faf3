// Making a rename durable: after rename(2) into a folder, the folder's entries are flushed too.
import { closeSync, fsyncSync, openSync } from "node:fs";

/** Flushes a folder's entries (the renames into it) to disk; a no-op where folders cannot be opened or synced. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, "r");
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a folder; the rename is still atomic.
  } finally {
    closeSync(fd);
  }
}
