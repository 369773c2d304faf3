// Durations written as text ("500ms", "90s", "30m", "1h30m", "7d", "1w"): one parser for settings and flags.

// Milliseconds per unit, largest first: the order the parts of "1h30m" are written in.
const unitMs = { w: 604_800_000, d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 } as const;
type Unit = keyof typeof unitMs;

/** The units a duration may use, smallest first, for messages: ms, s, m, h, d, w. */
export const durationUnits: readonly string[] = Object.keys(unitMs).reverse();

const number = String.raw`\d+(?:\.\d+)?`;
const bare = new RegExp(`^${number}$`);
const part = new RegExp(`(${number})\\s*(ms|[smhdw])\\s*`, "giy");

/**
 * Seconds of a duration such as "7d", "1h30m" or "500ms" (parts largest unit first, each unit
 * once); a number without a unit counts in `bareUnit` ("s" for settings and flags that always took
 * seconds), or is not a duration when `bareUnit` is undefined. Undefined for text that is not a
 * duration.
 *
 * @example
 * durationSeconds("1h30m") // 5400
 * durationSeconds("500ms") // 0.5
 * durationSeconds("90", "s") // 90
 * durationSeconds("90") // undefined
 */
export function durationSeconds(text: string, bareUnit?: Exclude<Unit, "ms">): number | undefined {
  const trimmed = text.trim();
  if (bare.test(trimmed)) return bareUnit === undefined ? undefined : (Number(trimmed) * unitMs[bareUnit]) / 1000;
  const units = Object.keys(unitMs);
  let ms = 0;
  let previous = -1;
  part.lastIndex = 0;
  for (let match = part.exec(trimmed); match !== null; match = part.exec(trimmed)) {
    const unit = match[2]!.toLowerCase() as Unit;
    const rank = units.indexOf(unit);
    if (rank <= previous) return undefined;
    previous = rank;
    ms += Number(match[1]) * unitMs[unit];
    if (part.lastIndex === trimmed.length) return ms / 1000;
  }
  return undefined;
}
