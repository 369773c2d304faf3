// A count and its noun in agreement: "1 record", "2 records", "1 retry", "3 retries".

/**
 * `count` followed by `noun`, made plural unless the count is exactly one. The plural is the
 * English rule for regular nouns (retry -> retries, match -> matches); pass `pluralNoun` for others.
 *
 * @example
 * plural(1, "record") // "1 record"
 * plural(0, "retry") // "0 retries"
 * plural(2, "load unit") // "2 load units"
 */
export function plural(count: number | bigint, noun: string, pluralNoun = regularPlural(noun)): string {
  return `${count} ${count === 1 || count === 1n ? noun : pluralNoun}`;
}

// internal

function regularPlural(noun: string): string {
  if (/[^aeiou]y$/i.test(noun)) return `${noun.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/i.test(noun)) return `${noun}es`;
  return `${noun}s`;
}
