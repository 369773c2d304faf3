// Durations written as text ("90s", "30m", "2h", "7d", "1w"): one parser for settings and flags.

const unitSeconds = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

/** The units a duration may use, for messages. */
export const durationUnits = Object.keys(unitSeconds);

/**
 * Seconds of a duration such as "7d"; a number without a unit counts in `bareUnit` ("s" for flags
 * that always took seconds), or is not a duration when `bareUnit` is undefined. Undefined for text
 * that is not a duration.
 */
export function durationSeconds(text: string, bareUnit?: keyof typeof unitSeconds): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([smhdw])?$/i.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2]?.toLowerCase() ?? bareUnit) as keyof typeof unitSeconds | undefined;
  return unit === undefined ? undefined : Number(match[1]) * unitSeconds[unit];
}
