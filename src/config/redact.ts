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
  private readonly recent = new Map<string, readonly string[]>();
  private pattern: RegExp | undefined;

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
    if (secret.length === 0) return;
    const known = this.recent.get(secret);
    this.recent.delete(secret);
    this.recent.set(secret, known ?? formsWithParts(secret));
    if (known) return;
    if (this.recent.size > recentLimit) this.recent.delete(this.recent.keys().next().value as string);
    this.pattern = undefined;
  }

  /** Adds the password of a URL written in the pipeline (`https://user:password@host/`), if it has one. */
  addUrlPassword(url: string): void {
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password.length > 0) for (const form of formsOf(password)) this.needles.add(form);
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
    if (this.needles.size === 0 && this.recent.size === 0) return scrubbed;
    this.pattern ??= new RegExp(
      [...new Set([...this.needles, ...[...this.recent.values()].flat()])]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join("|"),
      "g",
    );
    return scrubbed.replace(this.pattern, mask);
  }
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
