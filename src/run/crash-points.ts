// Crash points: the moments a run may be killed in tests of its atomicity, as a hook the caller passes.

/**
 * The moments a run reports: `page_<n>` once page n of a unit is staged, `before_commit` and
 * `after_commit` around the unit's COMMIT. The run only reports them; the caller decides what
 * happens there (main.ts kills its own process when RESTLOAD_CRASH_AT names the point).
 */
export type CrashPoint = `page_${number}` | "before_commit" | "after_commit";

/** Told about every crash point of a run, with the load unit it belongs to. */
export type CrashPointHook = (point: CrashPoint, unit: string) => void;

/**
 * Whether `point` of `unit` is the one `spec` names, in RESTLOAD_CRASH_AT's format `"<point>:<unit>"`.
 *
 * @example
 * isCrashPoint("page_2:items", "page_2", "items") // true
 */
export function isCrashPoint(spec: string, point: CrashPoint, unit: string): boolean {
  return spec === `${point}:${unit}`;
}
