// Deterministic crash points for tests of run atomicity: RESTLOAD_CRASH_AT="<point>:<unit>" kills
// the process with SIGKILL there (points: page_<n> after page n is staged, before_commit,
// after_commit). Unset in production; reading it costs one environment lookup.

const wanted = process.env.RESTLOAD_CRASH_AT;

export function crashPoint(point: string, unit: string): void {
  if (wanted !== undefined && wanted === `${point}:${unit}`) process.kill(process.pid, "SIGKILL");
}
