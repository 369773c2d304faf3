// Placeholders in request templates: `{resources.issues.number}`, `{incremental.start_value}`, `{{ }}`.

export const incrementalPlaceholders = ["start_value", "initial_value", "last_value", "end_value"] as const;
export type IncrementalPlaceholder = (typeof incrementalPlaceholders)[number];

export type Placeholder =
  | { readonly kind: "resource"; readonly resource: string; readonly field: string; readonly text: string }
  | { readonly kind: "incremental"; readonly name: IncrementalPlaceholder; readonly text: string }
  | { readonly kind: "unknown"; readonly name: string; readonly text: string };

export type TemplatePart = string | Placeholder;

const candidate = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[^{}\s]+)?$/;

/**
 * Splits a template into literal text and placeholders. `{{` and `}}` are literal braces; a brace
 * that does not enclose a placeholder name (as in a GraphQL query) stays literal too.
 *
 * @example
 * parseTemplate("issues/{resources.issues.number}/comments")
 * // ["issues/", { kind: "resource", resource: "issues", field: "number", … }, "/comments"]
 */
export function parseTemplate(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let literal = "";
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if ((char === "{" || char === "}") && text[i + 1] === char) {
      literal += char;
      i += 2;
      continue;
    }
    if (char === "{") {
      const end = text.indexOf("}", i + 1);
      const inner = end === -1 ? "" : text.slice(i + 1, end);
      if (end !== -1 && candidate.test(inner)) {
        if (literal) parts.push(literal);
        literal = "";
        parts.push(toPlaceholder(inner));
        i = end + 1;
        continue;
      }
    }
    literal += char;
    i++;
  }
  if (literal) parts.push(literal);
  return parts;
}

/**
 * Renders a template. A template that is exactly one placeholder returns the value itself, so a
 * whole-value placeholder keeps its JSON type (a number stays a number in a JSON body).
 */
export function renderTemplate(text: string, valueOf: (placeholder: Placeholder) => unknown): unknown {
  const parts = parseTemplate(text);
  if (parts.length === 1 && typeof parts[0] !== "string") return valueOf(parts[0]!);
  return parts.map((part) => (typeof part === "string" ? part : String(valueOf(part)))).join("");
}

// internal

function toPlaceholder(inner: string): Placeholder {
  const text = `{${inner}}`;
  const [head, ...rest] = inner.split(".");
  if (head === "resources" && rest.length >= 2) {
    const [resource, ...field] = rest as [string, ...string[]];
    return { kind: "resource", resource, field: field.join("."), text };
  }
  if (head === "incremental" && rest.length === 1 && (incrementalPlaceholders as readonly string[]).includes(rest[0]!)) {
    return { kind: "incremental", name: rest[0] as IncrementalPlaceholder, text };
  }
  return { kind: "unknown", name: inner, text };
}
