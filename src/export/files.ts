// The file operations that make an export atomic and readable for readers: flush to disk, then
// rename(2); folders 0755 and files 0644 whatever the umask (a systemd service runs with 0077, and
// the lake is for other users' engines to read).
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fsyncDir } from "../util/fsync-dir.ts";

const folderMode = 0o755;
const fileMode = 0o644;

/** Creates `dir` and any missing parents, each readable by all, and makes the new entries durable. */
export function makeFolder(dir: string): void {
  const target = resolve(dir);
  const created = mkdirSync(target, { recursive: true, mode: folderMode });
  if (created === undefined) return;
  const first = resolve(created);
  // Each folder created, from the deepest up to the first: chmod (the umask narrowed mkdir's mode),
  // then flush its entry. Never a folder that was there before.
  for (let folder = target; folder.startsWith(first); folder = dirname(folder)) {
    chmodSync(folder, folderMode);
    fsyncDir(dirname(folder));
    if (folder === first) break;
  }
}

/** Flushes a file's data to disk. */
export function fsyncFile(file: string): void {
  const fd = openSync(file, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes a file readable by all, flushes it, and moves it over `target` in one rename(2): a reader sees the old file or the new one. */
export function publishFile(temp: string, target: string): void {
  chmodSync(temp, fileMode);
  fsyncFile(temp);
  renameSync(temp, target);
  fsyncDir(dirname(target));
}

/** Writes `text` to `file` through a temp file in `tempDir` (default: beside it; same file system) and a rename. */
export function writeFileAtomically(file: string, text: string, tempDir = dirname(file)): void {
  const temp = join(tempDir, `${basename(file)}.tmp-${process.pid}`);
  writeFileSync(temp, text);
  publishFile(temp, file);
}
