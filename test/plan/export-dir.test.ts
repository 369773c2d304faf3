// `[export] dir` in the plan: absolute as written; relative by the rule of `pipeline.database`
// ($STATE_DIRECTORY when set, else the pipeline file's folder, never the working directory).
import { describe, expect, test } from "bun:test";
import { type LoadedPipeline, parsePipelineText } from "../../src/config/load.ts";
import { plan } from "../../src/plan/index.ts";

function planned(toml: string, env: Record<string, string> = {}) {
  const file = "/etc/restload/pipeline.toml";
  const loaded: LoadedPipeline = { file, dir: "/etc/restload", ...parsePipelineText(toml, file, env) };
  return plan(loaded, { env });
}

const head = `[pipeline]\nname = "p"\ndataset = "data"\n[client]\nbase_url = "https://api.example.com/"\n[[resources]]\nname = "items"\n`;

describe("[export] dir in the plan", () => {
  test("is null without [export]", () => {
    expect(planned(head).export).toBeNull();
  });

  test("an absolute dir stays as written", () => {
    expect(planned(`${head}[export]\ndir = "/srv/lake"\n`).export).toEqual({ dir: "/srv/lake" });
  });

  test("a relative dir resolves against the pipeline file's folder, as the database does", () => {
    const result = planned(`${head}[export]\ndir = "lake"\n`);
    expect(result.export).toEqual({ dir: "/etc/restload/lake" });
    expect(result.database).toBe("/etc/restload/p.duckdb");
  });

  test("a relative dir resolves against $STATE_DIRECTORY when it is set, as the database does", () => {
    const result = planned(`${head}[export]\ndir = "lake"\n`, { STATE_DIRECTORY: "/var/lib/restload:/var/lib/other" });
    expect(result.export).toEqual({ dir: "/var/lib/restload/lake" });
    expect(result.database).toBe("/var/lib/restload/p.duckdb");
  });

  test("dir may come from the environment", () => {
    expect(planned(`${head}[export]\ndir = { env = "LAKE_DIR" }\n`, { LAKE_DIR: "/mnt/lake" }).export).toEqual({ dir: "/mnt/lake" });
  });
});
