// A wrong paginator type is answered with every valid type, from the schema's one list.
import { describe, expect, test } from "bun:test";
import { parsePipelineText } from "../../src/config/load.ts";
import { paginatorTypes } from "../../src/config/schema/paginator.ts";
import { RestloadError } from "../../src/errors.ts";

function problemOf(paginator: string): string {
  const text = `[pipeline]\nname = "t"\n[client]\nbase_url = "https://api.example.com/"\n[[resources]]\nname = "items"\nendpoint.paginator = ${paginator}\n`;
  try {
    parsePipelineText(text, "pipeline.toml", {});
  } catch (error) {
    if (error instanceof RestloadError && error.problems.length === 1) return error.problems[0]!.message;
    throw error;
  }
  throw new Error("expected one problem");
}

describe("paginator type errors", () => {
  const listed = `expected a paginator type: ${paginatorTypes.map((type) => JSON.stringify(type)).join(", ")}, found "weird"`;

  test("the string form lists every type, offset included", () => {
    expect(problemOf('"weird"')).toBe(listed);
  });

  test("the table form lists the same types", () => {
    expect(problemOf('{ type = "weird" }')).toBe(listed);
  });

  test('"offst" is answered with offset, and "offset" alone with the limit it needs', () => {
    expect(problemOf('"offst"')).toEndWith('found "offst" (did you mean "offset"?)');
    expect(problemOf('"offset"')).toBe('the offset paginator needs a limit: write { type = "offset", limit = 100 }');
  });
});
