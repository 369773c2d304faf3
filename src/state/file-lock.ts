// A lock file that every restload process honours: created exclusively (O_EXCL) with the holder's
// pid and host, its mtime refreshed while held, taken over once its holder is gone (a dead pid on
// this host) or silent for a minute (a holder elsewhere, a reused pid). Node file APIs only, so it
// works the same on Bun and Deno.
import {
  closeSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { clearInterval, setInterval } from "node:timers";
import { setTimeout as sleep } from "node:timers/promises";
import { RestloadError, stopSignal } from "../errors.ts";
import { processAlive } from "../util/process-alive.ts";

/** How often a held lock file's mtime is refreshed, so a waiting process can tell a held lock from an abandoned one. */
const heartbeatMs = 5_000;
/**
 * A lock file untouched for this long is abandoned, whatever its holder: a holder on another host
 * (its pid cannot be checked), or a pid reused by another program.
 */
export const abandonedAfterMs = 60_000;
/** A lock file still without its holder after this long was left by a process killed while creating it. */
const unwrittenAfterMs = 2_000;
const pollMs = 25;

interface Holder {
  readonly pid: number;
  readonly host: string;
}

export interface LockFile {
  readonly text: string;
  readonly ino: number;
  readonly mtimeMs: number;
}

export interface LockOptions {
  /** Give up after this long with E_LOCKED naming the holder; waits as long as it takes without. */
  readonly timeoutMs?: number;
  /** Fail when the lock cannot be created (instead of going on without it). */
  readonly required?: boolean;
  /** Aborted (SIGTERM/SIGINT): stop waiting with E_INTERRUPTED. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Creates `path` exclusively (O_EXCL) with this process's pid and host, waiting while a live
 * process holds it; returns the release. Where no lock can be created (a read-only folder),
 * returns at once unless `required`: the token write fails there too, and says so.
 */
export async function takeLock(path: string, pipeline: string, options: LockOptions = {}): Promise<() => void> {
  const holder = `${JSON.stringify({ pid: process.pid, host: hostname(), pipeline, since: new Date().toISOString() })}\n`;
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + options.timeoutMs;
  for (;;) {
    let fd: number;
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if (codeOf(error) !== "EEXIST") {
        if (options.required) throw error;
        return () => {};
      }
      // Unreadable (another user's lock) or gone meanwhile: waited on like a held one.
      const found = lockFile(path);
      if (found !== undefined && abandoned(found)) {
        removeAbandoned(path, found);
        continue;
      }
      if (options.signal?.aborted) throw interruptedWait(path, options.signal);
      if (Date.now() >= deadline) throw heldError(path, found);
      await sleep(pollMs + Math.random() * pollMs);
      continue;
    }
    try {
      writeSync(fd, holder);
    } finally {
      closeSync(fd);
    }
    const { ino } = statSync(path);
    const heartbeat = setInterval(() => {
      try {
        const now = new Date();
        utimesSync(path, now, now);
      } catch {
        // Gone or unwritable: the next heartbeat tries again, the release cleans up.
      }
    }, heartbeatMs);
    heartbeat.unref();
    // Ended while holding it (the process exits during a grant): no one need wait for the lock to age.
    const onExit = () => removeIfOurs(path, ino);
    process.on("exit", onExit);
    return () => {
      clearInterval(heartbeat);
      process.off("exit", onExit);
      removeIfOurs(path, ino);
    };
  }
}

function abandoned(lock: LockFile): boolean {
  const age = Date.now() - lock.mtimeMs;
  if (age > abandonedAfterMs) return true;
  const holder = parseHolder(lock.text);
  if (holder === undefined) return age > unwrittenAfterMs;
  if (holder.host !== hostname()) return false;
  // This process queues its own users before the lock file: one with its pid was left by an
  // earlier process that had the same pid (a restarted container).
  return holder.pid === process.pid || !processAlive(holder.pid);
}

/**
 * Removes an abandoned lock. Moved aside first, then checked: if another process replaced it with
 * a live one between our look and the move, that one is put back.
 */
function removeAbandoned(path: string, seen: LockFile): void {
  const aside = `${path}.${process.pid}.abandoned`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  const moved = lockFile(aside);
  if (moved !== undefined && (moved.ino !== seen.ino || moved.text !== seen.text)) {
    try {
      linkSync(aside, path);
    } catch {
      // Taken meanwhile by a third process: that one now waits on its own lock, as it should.
    }
  }
  rmSync(aside, { force: true });
}

function removeIfOurs(path: string, ino: number): void {
  try {
    if (statSync(path).ino === ino) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}

/** The text, inode and mtime of one file (read through one descriptor, so all three are of the same file). */
export function lockFile(path: string): LockFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return undefined;
  }
  try {
    const { ino, mtimeMs } = fstatSync(fd);
    return { text: readFileSync(fd, "utf8"), ino, mtimeMs };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A lock still held at the deadline: who holds it, and what to do. */
function heldError(path: string, lock: LockFile | undefined): RestloadError {
  const holder = lock === undefined ? undefined : parseHolder(lock.text);
  const who = holder === undefined ? "another process" : `process ${holder.pid} on ${holder.host}`;
  return new RestloadError("E_LOCKED", `Cannot take the lock "${path}" as ${who} holds it`, {
    hint: "Wait for that process to finish or raise --lock-timeout; a lock whose holder died is taken over at once (on another host, after a minute).",
    context: { file: path },
  });
}

/** Asked to stop while waiting for the lock. */
function interruptedWait(path: string, signal: AbortSignal): RestloadError {
  const name = stopSignal(signal.reason);
  return new RestloadError("E_INTERRUPTED", `Interrupted by ${name} while waiting for the lock "${path}"`, {
    hint: "Nothing was done; run the command again.",
    context: { file: path, signal: name },
  });
}

function parseHolder(text: string): Holder | undefined {
  try {
    const holder = JSON.parse(text) as Partial<Holder>;
    if (typeof holder.pid === "number" && typeof holder.host === "string") return { pid: holder.pid, host: holder.host };
  } catch {
    // Not written yet, or cut short.
  }
  return undefined;
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
