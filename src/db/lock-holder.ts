// Names the process holding a DuckDB file's lock, from DuckDB's message and /proc where available.
import { readFileSync } from "node:fs";

const conflict = /Could not set lock on file .*Conflicting lock is held in (.+?) \(PID (\d+)\)/s;

/** True when DuckDB refused to open a file because another process holds its lock. */
export function isLockConflict(message: string): boolean {
  return /Could not set lock on file/.test(message);
}

/**
 * "process 2435 (restload run github.toml)" from DuckDB's lock message; falls back to the
 * program DuckDB names when the command line cannot be read (other user, other OS).
 */
export function describeLockHolder(message: string): string {
  const match = conflict.exec(message);
  if (!match) return "another process";
  const [, program = "", pid = ""] = match;
  return `process ${pid} (${commandLineOf(pid) ?? program})`;
}

// internal

function commandLineOf(pid: string): string | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    const args = raw.split("\0").filter((arg) => arg.length > 0);
    if (args.length === 0) return undefined;
    return args.map(shortenPath).join(" ").slice(0, 200);
  } catch {
    return undefined;
  }
}

function shortenPath(arg: string, index: number): string {
  // The program's full path says little; its name is what an operator recognises.
  return index === 0 ? (arg.split("/").pop() ?? arg) : arg;
}
