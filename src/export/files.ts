// The file operations that make an export atomic for readers: flush to disk, then rename(2).
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { fsyncDir } from "../util/fsync-dir.ts";

/** Flushes a file's data to disk. */
export function fsyncFile(file: string): void {
  const fd = openSync(file, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Moves a flushed file over `target` in one rename(2): a reader sees the old file or the new one. */
export function publishFile(temp: string, target: string): void {
  fsyncFile(temp);
  renameSync(temp, target);
  fsyncDir(dirname(target));
}

/** Writes `text` to `file` through a temp file beside it and a rename. */
export function writeFileAtomically(file: string, text: string): void {
  const temp = `${file}.tmp-${process.pid}`;
  writeFileSync(temp, text);
  publishFile(temp, file);
}
