// Settings that take a time accept seconds or a duration, and resolve to seconds either way.
import { describe, expect, test } from "bun:test";
import { parsePipelineText } from "../../src/config/load.ts";
import { RestloadError } from "../../src/errors.ts";

const resources = '[[resources]]\nname = "items"\n';

function resolved(pipeline: string, client: string) {
  const text = `[pipeline]\nname = "t"\n${pipeline}\n[client]\nbase_url = "https://api.example.com/"\n${client}\n${resources}`;
  return parsePipelineText(text, "pipeline.toml", {}).config;
}

function problemsOf(pipeline: string, client: string): string[] {
  try {
    resolved(pipeline, client);
  } catch (error) {
    if (error instanceof RestloadError) return error.problems.map((problem) => `${problem.path}: ${problem.message}`);
    throw error;
  }
  throw new Error("expected the pipeline to be refused");
}

describe("times in the pipeline file", () => {
  test("client timeout, backoff_factor and max_retry_delay take durations and resolve to seconds", () => {
    const { client } = resolved("", 'timeout = "30s"\nbackoff_factor = "500ms"\nmax_retry_delay = "1h30m"');
    expect(client.timeout).toBe(30);
    expect(client.backoff_factor).toBe(0.5);
    expect(client.max_retry_delay).toBe(5400);
  });

  test("numbers keep meaning seconds", () => {
    const { client, pipeline } = resolved("checkpoint_interval = 15", "timeout = 2.5\nbackoff_factor = 0\nmax_retry_delay = 10");
    expect(client).toMatchObject({ timeout: 2.5, backoff_factor: 0, max_retry_delay: 10 });
    expect(pipeline.checkpoint_interval).toBe(15);
  });

  test("the defaults are seconds too", () => {
    const { client, pipeline } = resolved("", "");
    expect(client).toMatchObject({ timeout: 60, backoff_factor: 1, max_retry_delay: 300 });
    expect(pipeline.checkpoint_interval).toBe(60);
  });

  test("checkpoint_interval takes a duration, and 0 (or 0s) still means once at the end", () => {
    expect(resolved('checkpoint_interval = "2m"', "").pipeline.checkpoint_interval).toBe(120);
    expect(resolved('checkpoint_interval = "0s"', "").pipeline.checkpoint_interval).toBe(0);
  });

  test("an OAuth token's default_token_expiration takes a duration", () => {
    const auth =
      'auth = { type = "oauth2_client_credentials", access_token_url = "https://auth.example.com/token", client_id = "id", client_secret = "s", default_token_expiration = "1h" }';
    expect(resolved("", auth).client.auth).toMatchObject({ default_token_expiration: 3600 });
  });

  test("a timeout of no time, a negative wait and text that is no duration are refused, each at its key", () => {
    expect(problemsOf("checkpoint_interval = -5", 'timeout = "0ms"\nmax_retry_delay = "soon"')).toEqual([
      "pipeline.checkpoint_interval: expected a time of at least 0 seconds, found -5",
      'client.timeout: expected a time above 0 seconds, found "0ms"',
      'client.max_retry_delay: expected seconds (a number) or a duration such as "30s", "2m", "1h30m" or "500ms", found "soon"',
    ]);
  });

  test("a table where a time belongs names what a time is", () => {
    expect(problemsOf("", "timeout = { seconds = 30 }")).toEqual([
      'client.timeout: expected seconds (a number) or a duration such as "30s", "2m", "1h30m" or "500ms", found a table',
    ]);
  });
});
