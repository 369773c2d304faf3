// What a command may touch of the process, and the redaction every output goes through.
import type { Redactor } from "../config/redact.ts";
import type { CrashPointHook } from "../run/crash-points.ts";

/** Provided by main.ts (the real process) or by tests. */
export interface Io {
  readonly stdout: (text: string) => Promise<void>;
  readonly stderr: (text: string) => Promise<void>;
  readonly readStdin: () => Promise<string>;
  /** One line from standard input (an answer to a question on a terminal). */
  readonly readLine: () => Promise<string>;
  readonly stdinIsTerminal: boolean;
  /** stderr is a terminal: live progress instead of one line per event. */
  readonly stderrIsTerminal?: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborted with "SIGTERM" or "SIGINT" when the process is asked to stop. */
  readonly signal?: AbortSignal | undefined;
  /** Passed to every run; main.ts sets it only when RESTLOAD_CRASH_AT asks to kill the process at a point. */
  readonly onCrashPoint?: CrashPointHook | undefined;
}

/** The same Io with known secrets masked in everything written. */
export function redactingIo(io: Io, redactor: Redactor): Io {
  return {
    ...io,
    stdout: (text) => io.stdout(redactor.redact(text)),
    stderr: (text) => io.stderr(redactor.redact(text)),
  };
}

/**
 * Whether a failed write to stdout means its reader went away (`restload extract … | head`): a broken
 * pipe, or a write to the stream it left destroyed. Nobody is left to read, so it is no failure.
 */
export function isOutputClosed(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return code === "EPIPE" || code === "ERR_STREAM_DESTROYED";
}
