// Crash points: the moments a run may be killed in tests of its atomicity, as a hook the caller passes.

/**
 * The moments a run reports: `page_<n>` once page n of a chain of a unit is staged, `window_<k>`
 * once the first page of the root's k-th window of the run is staged, `before_checkpoint_<k>` and
 * `after_checkpoint_<k>` around the COMMIT of the unit's k-th checkpoint when it is not the unit's
 * last, `before_commit` and `after_commit` around the unit's final COMMIT. The run only reports
 * them; the caller decides what happens there (main.ts kills its own process when
 * RESTLOAD_CRASH_AT names the point).
 */
export type CrashPoint =
  | `page_${number}`
  | `window_${number}`
  | `before_checkpoint_${number}`
  | `after_checkpoint_${number}`
  | "before_commit"
  | "after_commit"
  // An export (the "unit" is a table): every changed table's file written, nothing published yet;
  // the table's new generation folder complete (files linked and moved in), before its JSON; the
  // JSON written, before the symlink swap; the swap done, before the next table and the manifest.
  | "export_copied"
  | "export_linked"
  | "export_described"
  | "export_published";

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
