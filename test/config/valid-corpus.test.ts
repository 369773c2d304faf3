// Every file of test/fixtures/config/valid/ plans to exactly its `.plan.json` (`check --json`).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runMain, tempDir } from "../helpers.ts";

const dir = join(repoRoot, "test", "fixtures", "config", "valid");
const env = { RESTLOAD_TEST_REVIEW_ENV: "staging" };

async function checkJson(file: string) {
  const result = await runMain(["check", file, "--skip-secrets", "--json"], env);
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout.replaceAll(dir, "<dir>"));
}

describe("valid pipeline corpus", () => {
  for (const entry of readdirSync(dir)
    .filter((name) => name.endsWith(".toml"))
    .sort()) {
    test(`${entry} plans exactly as ${entry.replace(".toml", ".plan.json")}`, async () => {
      const expected = JSON.parse(readFileSync(join(dir, entry.replace(".toml", ".plan.json")), "utf8"));
      expect(await checkJson(join(dir, entry))).toEqual(expected);
    });
  }

  test("the seed's GitHub pipeline gives the plan a dlt user expects", async () => {
    const planned = await checkJson(join(dir, "github-seed.toml"));
    expect(planned.units).toEqual([
      {
        name: "issues",
        resources: ["issues", "issue_comments"],
        tables: ["issues", "issue_comments"],
        checkpoints: { mode: "end", reason: 'records are not in cursor order (set row_order = "asc" if they are)' },
      },
    ]);
    const [issues, comments] = planned.resources;
    expect(issues.name).toBe("issues");
    expect(comments.name).toBe("issue_comments");
    expect(comments.parent).toBe("issues");
    expect(comments.path).toBe("issues/{resources.issues.number}/comments");
    expect(issues.incremental).toMatchObject({ cursor_path: "updated_at", initial_value: "2024-01-25T11:21:28Z", start_param: "since" });
    expect(issues.params).toEqual({ per_page: 100, sort: "updated", direction: "desc", state: "open" });
    expect(comments.params).toEqual({ per_page: 100 });
    for (const resource of [issues, comments]) {
      expect(resource.write_disposition).toEqual({ disposition: "merge", strategy: "delete-insert" });
      expect(resource.primary_key).toEqual(["id"]);
    }
    expect(comments.include_from_parent).toEqual(["id"]);
    expect(planned.database).toBe("<dir>/rest_api_github.duckdb");
    expect(planned.dataset).toBe("rest_api_data");
  });

  test("a relative database resolves against $STATE_DIRECTORY when it is set", async () => {
    const result = await runMain(["check", join(dir, "string-resources.toml"), "--json"], { STATE_DIRECTORY: "/var/lib/restload" });
    expect(JSON.parse(result.stdout).database).toBe("/var/lib/restload/data/jp.duckdb");
  });

  test("the text plan names units, tables, paginator levels and keys", async () => {
    const result = await runMain(["check", join(dir, "github-seed.toml"), "--skip-secrets"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("load unit issues  -> tables issues, issue_comments");
    expect(result.stdout).toContain("request     GET issues/{resources.issues.number}/comments");
    expect(result.stdout).toContain("incremental updated_at (max) from 2024-01-25T11:21:28Z via param since");
    expect(result.stdout).toContain("table       issues: merge (delete-insert) on id");
    expect(result.stdout).toContain("from parent id as _issues_id");
    expect(result.stdout).toContain("ok: 2 resources in 1 load unit");
  });

  test("the text plan says an auto paginator is detected at run time, and where a set one comes from", async () => {
    const auto = await runMain(["check", join(dir, "github-seed.toml"), "--skip-secrets"]);
    expect(auto.stdout).toContain("    paginator   auto (detected at run time)\n");
    expect(auto.stdout).not.toContain("(from auto)");
    const set = await runMain(["check", join(dir, "all-paginators.toml"), "--skip-secrets"]);
    expect(set.stdout).toContain("    paginator   json_link (from endpoint)\n");
  });

  test("the text plan counts one resource and one load unit in the singular", async () => {
    const file = join(tempDir(), "one.toml");
    writeFileSync(file, '[pipeline]\nname = "one"\n[client]\nbase_url = "https://api.example.com/"\n[[resources]]\nname = "items"\n');
    const result = await runMain(["check", file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("ok: 1 resource in 1 load unit\n");
  });

  test("merge without a key and lag with append are warnings, not errors", async () => {
    const result = await runMain(["check", join(repoRoot, "test", "fixtures", "config", "warnings.toml"), "--skip-secrets"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      'warning: resource "events": write_disposition = "merge" without primary_key or merge_key behaves as append',
    );
    expect(result.stderr).toContain('warning: resource "logs": incremental lag with write_disposition = "append"');
  });
});
