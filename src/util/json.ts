// JSON text in which bigints stay exact numbers (`JSON.rawJSON`).

/** Like JSON.stringify, but a bigint is written as its digits, not refused. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, item) => (typeof item === "bigint" ? JSON.rawJSON(item.toString()) : item), indent);
}
