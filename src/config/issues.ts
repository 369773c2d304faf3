// Turns valibot issues into problems: a TOML path and a sentence saying what was expected and found.
import type * as v from "valibot";
import type { Problem } from "../errors.ts";
import { formatPath, type PathKey } from "./path.ts";
import { describe } from "./references.ts";

/** One problem per issue, in document order. */
export function issuesToProblems(issues: readonly v.BaseIssue<unknown>[]): Problem[] {
  return issues.map((issue) => ({ path: formatPath(pathOf(issue)), message: messageOf(issue) }));
}

// internal

function pathOf(issue: v.BaseIssue<unknown>): PathKey[] {
  return (issue.path ?? []).map((item) => (typeof item.key === "number" ? item.key : String(item.key)));
}

function messageOf(issue: v.BaseIssue<unknown>): string {
  // Messages written by the schemas are complete sentences; valibot's own start with "Invalid".
  if (!issue.message.startsWith("Invalid ")) return issue.message;
  if (issue.received === "undefined") return `required key is missing (expected ${expected(issue.expected)})`;
  return `expected ${expected(issue.expected)}, found ${describe(issue.input)}`;
}

function expected(value: string | null): string {
  if (value === null) return "a different value";
  return value
    .replace(/\bObject\b/g, "a table")
    .replace(/\bArray\b/g, "an array")
    .replace(/\bSecretRef\b/g, '{ secret = "NAME" }');
}
