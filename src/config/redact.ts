// Keeps secret values, and the forms derived from them, out of every text that leaves the process.

const mask = "***";

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
    this.addForms(secret);
    const parts = /\s/.test(secret) ? secret.split(/\s+/) : [];
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(secret)) {
      try {
        const url = new URL(secret);
        parts.push(decodeURIComponent(url.password), ...url.pathname.split("/").map(safeDecode), ...[...url.searchParams.values()]);
      } catch {
        // Not a URL after all.
      }
    }
    for (const part of parts) if (part !== secret && tokenLike(part)) this.addForms(part);
  }

  /** Adds the password of a URL written in the pipeline (`https://user:password@host/`), if it has one. */
  addUrlPassword(url: string): void {
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password.length > 0) this.addForms(password);
    } catch {
      // Not a URL: the plan reports it.
    }
  }

  private addForms(secret: string): void {
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
    for (const form of forms) if (form.length > 0) this.needles.add(form);
    this.pattern = undefined;
  }

  /** `text` with every known secret form replaced by `***`. */
  redact(text: string): string {
    // Credentials in any URL a message quotes (a runtime's own error text among them).
    const scrubbed = text.includes("@")
      ? text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@:"'<>]*:[^\s/@"'<>]*@/gi, `$1${mask}:${mask}@`)
      : text;
    if (this.needles.size === 0) return scrubbed;
    this.pattern ??= new RegExp(
      [...this.needles]
        .sort((a, b) => b.length - a.length)
        .map(escapeRegExp)
        .join("|"),
      "g",
    );
    return scrubbed.replace(this.pattern, mask);
  }
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
