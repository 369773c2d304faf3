// Asking the runtime for a full garbage collection.

/**
 * Runs a full collection where the runtime offers one (Bun; Deno only when started with
 * `--v8-flags=--expose-gc`); otherwise does nothing.
 */
export function collectGarbage(): void {
  if (typeof Bun !== "undefined") Bun.gc(true);
  else (globalThis as { gc?: () => void }).gc?.();
}
