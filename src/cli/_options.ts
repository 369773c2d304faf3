// Flags shared by several commands, with their parsing and validation.
import { RestloadError } from "../errors.ts";

export const lockTimeoutOption = [
  "--lock-timeout <seconds>",
  "Wait this long for another process to release the database (default: 30)",
] as const;

/** --lock-timeout in milliseconds; 30 s when absent. */
export function lockTimeoutMs(value: unknown): number {
  if (value === undefined) return 30_000;
  const seconds = typeof value === "number" ? value : Number(value);
  if (typeof value === "boolean" || !Number.isFinite(seconds) || seconds < 0) {
    throw new RestloadError("E_USAGE", `--lock-timeout expects a number of seconds, got "${String(value)}"`, {
      hint: "Pass e.g. --lock-timeout 60, or 0 to fail at once.",
    });
  }
  return seconds * 1000;
}
