// The error a failed or stopped unit reports: DuckDB's failures given a hint, a stop given its
// signal, and every text masked of the run's secrets.
import { messageOf, RestloadError, stopSignal } from "../errors.ts";
import type { Plan } from "../plan/index.ts";
import type { RunOptions } from "./types.ts";

/**
 * The error recorded for a failed unit; DuckDB running out of memory, and a full disk, get a hint
 * on what to do (E_LOAD); other system errors are E_IO, anything else E_INTERNAL.
 */
export function loadError(caught: unknown, plan: Pick<Plan, "database" | "duckdb_memory_limit">): RestloadError {
  const message = messageOf(caught);
  if (/No space left on device|ENOSPC/.test(message)) {
    return new RestloadError("E_LOAD", `The disk holding ${plan.database} is full: ${message.split("\n")[0]}`, {
      hint: "Free space on that disk (staged files and DuckDB's temporary files are written beside the database); the unit rolled back and the next run loads it again.",
      cause: caught,
    });
  }
  if (/Out of Memory Error/.test(message)) {
    return new RestloadError(
      "E_LOAD",
      `DuckDB ran out of memory while loading (duckdb_memory_limit = ${plan.duckdb_memory_limit}): ${message.split("\n")[0]}`,
      {
        hint: 'Raise pipeline.duckdb_memory_limit (very wide tables need about 100 KB per column), or store wide objects whole with columns.<field> = { data_type = "json" }.',
        cause: caught,
      },
    );
  }
  if (caught instanceof RestloadError) return caught;
  // A system call that failed (EACCES, EIO on the staging directory) is the machine's doing;
  // anything else thrown is a failure restload has no code for, reported with its own message.
  const systemCode = (caught as { code?: unknown } | null)?.code;
  const code = typeof systemCode === "string" && /^E[A-Z]+$/.test(systemCode) ? "E_IO" : "E_INTERNAL";
  return new RestloadError(code, message, { cause: caught });
}

/** E_INTERRUPTED carrying the signal, which decides the exit code (SIGINT 130, SIGTERM 143). */
export function interruptedError(signal: AbortSignal, of: "unit" | "run"): RestloadError {
  const name = stopSignal(signal.reason);
  return new RestloadError("E_INTERRUPTED", of === "unit" ? `Interrupted by ${name}; the unit was rolled back` : `Interrupted by ${name}`, {
    hint: "Run the pipeline again: it resumes from the last committed unit.",
    context: { signal: name },
  });
}

/** Masks the run's secrets in error texts before they are logged, printed or stored. */
export function redactWith(options: Pick<RunOptions, "redactor">): (text: string) => string {
  return (text) => options.redactor.redact(text);
}
