// Resolving a pipeline: resource_defaults merge with a resource as dlt merges them, and defaults apply after the merge.
import { describe, expect, test } from "bun:test";
import { parsePipelineText } from "../../src/config/load.ts";

const head = '[pipeline]\nname = "t"\n[client]\nbase_url = "https://api.example.com/"\n';

function incrementalOf(toml: string, resource: string): Record<string, unknown> {
  const { config } = parsePipelineText(head + toml, "pipeline.toml", {});
  const found = config.resources.find((candidate) => candidate.name === resource)!;
  return found.endpoint.params.since as Record<string, unknown>;
}

describe("resource_defaults and a legacy incremental param", () => {
  const defaults =
    '[resource_defaults]\nendpoint.params.since = { type = "incremental", cursor_path = "updated_at", initial_value = "2024-01-01", last_value_func = "min" }\n';

  test("keys the resource leaves out keep resource_defaults' values, not the defaults", () => {
    const since = incrementalOf(
      `${defaults}[[resources]]\nname = "items"\nendpoint.params.since = { type = "incremental", cursor_path = "updated_at", lag = 5 }\n`,
      "items",
    );
    expect(since).toMatchObject({ initial_value: "2024-01-01", last_value_func: "min", lag: 5, range_start: "closed" });
  });

  test("a key the resource sets to the default's value still wins over resource_defaults", () => {
    const since = incrementalOf(
      `${defaults}[[resources]]\nname = "items"\nendpoint.params.since = { type = "incremental", cursor_path = "updated_at", last_value_func = "max" }\n`,
      "items",
    );
    expect(since).toMatchObject({ initial_value: "2024-01-01", last_value_func: "max" });
  });

  test("a resource that does not set the param takes resource_defaults' with every default filled in", () => {
    const since = incrementalOf(`${defaults}[[resources]]\nname = "items"\n`, "items");
    expect(since).toEqual(
      expect.objectContaining({ initial_value: "2024-01-01", last_value_func: "min", on_cursor_value_missing: "raise", range_end: "open" }),
    );
  });
});
