// Strict JSON with exact integers: IDs up to 2^63-1 (and beyond) come back as bigint, never rounded.

/** Numbers of 16+ digits may not fit a double; only bodies holding one take the slow path. */
const longNumber = /\d{16,}/;

/**
 * Parses JSON text; integers outside the safe range become bigint. Throws SyntaxError on anything
 * that is not JSON (an HTML error page is an error, never an empty page).
 */
export function parseJsonExact(text: string): unknown {
  if (!longNumber.test(text)) return JSON.parse(text);
  return JSON.parse(text, exactIntegers as (key: string, value: unknown) => unknown);
}

// internal

function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value) || !context?.source) return value;
  return /^-?\d+$/.test(context.source) ? BigInt(context.source) : value;
}
