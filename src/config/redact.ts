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

  /** Adds a secret and its encoded forms. */
  add(secret: string): void {
    if (secret.length === 0) return;
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
    ];
    for (const form of forms) if (form.length > 0) this.needles.add(form);
    this.pattern = undefined;
  }

  /** `text` with every known secret form replaced by `***`. */
  redact(text: string): string {
    if (this.needles.size === 0) return text;
    this.pattern ??= new RegExp(
      [...this.needles].sort((a, b) => b.length - a.length).map(escapeRegExp).join("|"),
      "g",
    );
    return text.replace(this.pattern, mask);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
