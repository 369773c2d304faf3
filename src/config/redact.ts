// Keeps secret values, and the forms derived from them, out of every text that leaves the process.

const mask = "***";

/** How many per-request secrets (`addRecent`) stay masked: the newest ones, enough for every request in flight. */
const recentLimit = 128;

/**
 * Replaces known secrets in text: the raw value and its percent-encoded, form-encoded, base64,
 * base64url and JSON-escaped forms. Derived credentials (a basic-auth header, a fetched OAuth
 * token) are added as they come into being.
 *
 * @example
 * const redactor = new Redactor(["s3cr+t"]);
 * redactor.redact("token=s3cr%2Bt") // "token=***"
 */
export class Redactor {
  private readonly needles = new Set<string>();
  /** The needles as one pattern, built when text is redacted after a secret was added (rarely: the run's secrets, each fetched token). */
  private pattern: RegExp | undefined;
  private readonly recent = new RecentValues(recentLimit);

  constructor(secrets: Iterable<string> = []) {
    for (const secret of secrets) this.add(secret);
  }

  /**
   * Adds a secret and its encoded forms. Its token-like parts go too, as an API may echo only
   * them: the words of `Token abc…`, and of a URL the password, path segments and query values.
   */
  add(secret: string): void {
    if (secret.length === 0) return;
    for (const form of formsWithParts(secret)) this.needles.add(form);
    this.pattern = undefined;
  }

  /**
   * Adds a secret that belongs to one request (a signature, a nonce, the headers an auth hook
   * returns): masked like the others while it is among the newest `recentLimit` added this way, so
   * values that change with every request do not pile up over a long run. Adding one again makes it
   * new again, so a value sent with every request stays masked for the whole run.
   */
  addRecent(secret: string): void {
    if (secret.length > 0) this.recent.add(secret);
  }

  /** Adds the password of a URL written in the pipeline (`https://user:password@host/`), if it has one. */
  addUrlPassword(url: string): void {
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password.length === 0) return;
      for (const form of formsOf(password)) this.needles.add(form);
      this.pattern = undefined;
    } catch {
      // Not a URL: the plan reports it.
    }
  }

  /** `text` with every known secret form replaced by `***`. */
  redact(text: string): string {
    // Credentials in any URL a message quotes (a runtime's own error text among them).
    const scrubbed = text.includes("@")
      ? text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:"'<>]*:[^\s/@"'<>]*@/gi, `$1${mask}:${mask}@`)
      : text;
    const recent = this.recent.find(scrubbed);
    if (this.needles.size === 0) return recent.length === 0 ? scrubbed : masked(scrubbed, recent);
    this.pattern ??= new RegExp(
      [...this.needles]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join("|"),
      "g",
    );
    if (recent.length === 0) return scrubbed.replace(this.pattern, mask);
    for (const match of scrubbed.matchAll(this.pattern)) recent.push([match.index, match.index + match[0].length]);
    return masked(scrubbed, recent);
  }
}

/** A stretch of text to mask: [start, end). */
type Span = readonly [number, number];

/**
 * The per-request values of `addRecent`, the newest `limit` of them, found by a scan keyed on their
 * first characters: adding one (every request, with an auth hook) costs its own forms, never a new
 * pattern of all of them.
 */
class RecentValues {
  /** Each value's forms, oldest value first. */
  private readonly values = new Map<string, readonly string[]>();
  /** Forms by a hash of their first `prefixLength` characters, each with how many values have it. */
  private readonly byPrefix = new Map<number, Map<string, number>>();
  /** Forms shorter than that, found with indexOf. */
  private readonly short = new Map<string, number>();

  constructor(private readonly limit: number) {}

  add(value: string): void {
    const known = this.values.get(value);
    // Added again: the newest again.
    this.values.delete(value);
    this.values.set(value, known ?? formsWithParts(value));
    if (known) return;
    for (const form of this.values.get(value) ?? []) this.count(form, 1);
    if (this.values.size > this.limit) {
      const [oldest, forms] = this.values.entries().next().value as [string, readonly string[]];
      this.values.delete(oldest);
      for (const form of forms) this.count(form, -1);
    }
  }

  /** Where the values' forms stand in `text` (overlapping spans included). */
  find(text: string): Span[] {
    const spans: Span[] = [];
    if (this.byPrefix.size > 0 && text.length >= prefixLength) {
      // A rolling hash of the window at `at`: no string is made per position.
      let hash = prefixHash(text, 0);
      for (let at = 0; at + prefixLength <= text.length; at++) {
        if (at > 0)
          hash =
            (Math.imul(hash - Math.imul(text.charCodeAt(at - 1), highestPower), hashBase) + text.charCodeAt(at + prefixLength - 1)) >>> 0;
        const forms = this.byPrefix.get(hash);
        if (forms === undefined) continue;
        let longest = 0;
        for (const form of forms.keys()) if (form.length > longest && text.startsWith(form, at)) longest = form.length;
        if (longest > 0) spans.push([at, at + longest]);
      }
    }
    for (const form of this.short.keys())
      for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) spans.push([at, at + form.length]);
    return spans;
  }

  /** Counts one more (or one fewer) value having `form`; a form no value has is forgotten. */
  private count(form: string, by: 1 | -1): void {
    const prefix = form.length >= prefixLength ? prefixHash(form, 0) : undefined;
    const counts = prefix === undefined ? this.short : (this.byPrefix.get(prefix) ?? new Map<string, number>());
    const next = (counts.get(form) ?? 0) + by;
    if (next > 0) counts.set(form, next);
    else counts.delete(form);
    if (prefix === undefined) return;
    if (counts.size > 0) this.byPrefix.set(prefix, counts);
    else this.byPrefix.delete(prefix);
  }
}

/** How many first characters key the scan of recent values (no credential form is shorter; shorter ones are found with indexOf). */
const prefixLength = 6;
const hashBase = 31;
/** hashBase ** (prefixLength - 1), modulo 2^32. */
const highestPower = Array.from({ length: prefixLength - 1 }).reduce<number>((power) => Math.imul(power, hashBase) >>> 0, 1);

/** A hash of the `prefixLength` characters of `text` from `at` (equal windows, equal hashes; a match is then compared in full). */
function prefixHash(text: string, at: number): number {
  let hash = 0;
  for (let i = at; i < at + prefixLength; i++) hash = (Math.imul(hash, hashBase) + text.charCodeAt(i)) >>> 0;
  return hash;
}

/** `text` with every span replaced by `***`; overlapping spans make one. */
function masked(text: string, spans: Span[]): string {
  spans.sort((a, b) => a[0] - b[0]);
  let out = "";
  let done = 0;
  for (let i = 0; i < spans.length; ) {
    const [start] = spans[i] as Span;
    let end = (spans[i] as Span)[1];
    for (i++; i < spans.length && (spans[i] as Span)[0] < end; i++) end = Math.max(end, (spans[i] as Span)[1]);
    out += `${text.slice(done, start)}${mask}`;
    done = end;
  }
  return out + text.slice(done);
}

/** A secret's forms, and those of its token-like parts (see `Redactor.add`). */
function formsWithParts(secret: string): string[] {
  const forms = formsOf(secret);
  const parts = /\s/.test(secret) ? secret.split(/\s+/) : [];
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(secret)) {
    try {
      const url = new URL(secret);
      parts.push(decodeURIComponent(url.password), ...url.pathname.split("/").map(safeDecode), ...[...url.searchParams.values()]);
    } catch {
      // Not a URL after all.
    }
  }
  for (const part of parts) if (part !== secret && tokenLike(part)) forms.push(...formsOf(part));
  return forms;
}

/** The raw value and its percent-encoded, form-encoded, base64, base64url and JSON-escaped forms. */
function formsOf(secret: string): string[] {
  const base64 = Buffer.from(secret, "utf8").toString("base64");
  const forms = [
    secret,
    encodeURIComponent(secret),
    encodeURI(secret),
    new URLSearchParams({ x: secret }).toString().slice(2),
    base64,
    base64.replace(/=+$/, ""),
    base64.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
    JSON.stringify(secret).slice(1, -1),
    // Form-encoded, then decoded by an API that does not turn `+` back into spaces.
    secret.replaceAll(" ", "+"),
  ];
  return forms.filter((form) => form.length > 0);
}

/** Long enough, or with a digit, to be a credential rather than a word of the API (`users`, `v1`). */
function tokenLike(part: string): boolean {
  return part.length >= 12 || (part.length >= 8 && /\d/.test(part));
}

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
