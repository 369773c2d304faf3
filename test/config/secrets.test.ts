// Secret lookup (environment, $CREDENTIALS_DIRECTORY, secrets files) and that values never leak.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { leakForms, repoRoot, runMain, tempDir } from "../helpers.ts";
import { json, startServer, type TestServer } from "../servers/server.ts";

const canary = "c4n4ry+/=&S3cr3t";
const canaryForms = leakForms(canary);

function expectNoCanary(...texts: string[]): void {
  for (const text of texts) for (const form of canaryForms) expect(text).not.toContain(form);
}

const pipeline = (auth = 'auth = { type = "bearer", token = { secret = "github_token" } }', extra = "") => `[pipeline]
name = "rest_api_github"
${extra}
[client]
base_url = "https://api.github.com/repos/dlt-hub/dlt/"
${auth}

[[resources]]
name = "issues"
`;

/** A directory with pipeline.toml and, optionally, secrets files; returns the pipeline path. */
function project(files: Record<string, string>, pipelineText = pipeline()): string {
  const dir = tempDir();
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o600);
  }
  writeFileSync(join(dir, "pipeline.toml"), pipelineText);
  return join(dir, "pipeline.toml");
}

async function foundIn(file: string, env: Record<string, string> = {}, args: string[] = []) {
  const result = await runMain(["check", file, "--json", ...args], env);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout).secrets as { name: string; found_in: string; used_at: string[] }[];
}

describe("secret lookup", () => {
  test("the seed's dlt secrets.toml layout works unchanged with the seed's pipeline", async () => {
    const dir = tempDir();
    copyFileSync(join(repoRoot, "configs", "github.toml"), join(dir, "github.toml"));
    writeFileSync(join(dir, "secrets.toml"), `[sources.rest_api.github]\ngithub_token = "${canary}"\n`, { mode: 0o600 });
    const secrets = await foundIn(join(dir, "github.toml"));
    expect(secrets).toEqual([
      { name: "github_token", used_at: ["client.auth.token"], found_in: `${join(dir, "secrets.toml")} [sources.rest_api.github]` },
    ]);
  });

  test("the environment wins over the credentials directory and the file", async () => {
    const credentials = tempDir();
    writeFileSync(join(credentials, "github_token"), "from-credentials\n");
    const file = project({ "secrets.toml": 'github_token = "from-file"\n' });
    const secrets = await foundIn(file, { RESTLOAD_SECRET_GITHUB_TOKEN: "from-env", CREDENTIALS_DIRECTORY: credentials });
    expect(secrets[0]!.found_in).toBe("environment variable RESTLOAD_SECRET_GITHUB_TOKEN");
  });

  test("secret names map to environment names upper-cased with non-alphanumerics as _", async () => {
    const file = project({}, pipeline('auth = { type = "bearer", token = { secret = "my-api.key" } }'));
    const secrets = await foundIn(file, { RESTLOAD_SECRET_MY_API_KEY: "x" });
    expect(secrets[0]!.found_in).toBe("environment variable RESTLOAD_SECRET_MY_API_KEY");
  });

  test("$CREDENTIALS_DIRECTORY (systemd LoadCredential=) comes before the secrets file", async () => {
    const credentials = tempDir();
    writeFileSync(join(credentials, "github_token"), "from-credentials\n");
    const file = project({ "secrets.toml": 'github_token = "from-file"\n' });
    const secrets = await foundIn(file, { CREDENTIALS_DIRECTORY: credentials });
    expect(secrets[0]!.found_in).toBe(`credential file ${join(credentials, "github_token")}`);
  });

  test("the pipeline's own section comes before the top level and [sources]", async () => {
    const file = project({
      "secrets.toml": 'github_token = "top"\n[rest_api_github]\ngithub_token = "own"\n[sources.x]\ngithub_token = "src"\n',
    });
    expect((await foundIn(file))[0]!.found_in).toEndWith("secrets.toml [rest_api_github]");
  });

  test("the top level comes before [sources]", async () => {
    const file = project({ "secrets.toml": 'github_token = "top-level-value"\n[sources.x]\ngithub_token = "sources-value"\n' });
    expect((await foundIn(file))[0]!.found_in).toEndWith("secrets.toml (top level)");
  });

  test("secrets_section pins the one section searched", async () => {
    const file = project(
      { "secrets.toml": '[sources.a]\ngithub_token = "value-of-a"\n[sources.b]\ngithub_token = "value-of-b"\n' },
      pipeline(undefined, 'secrets_section = "sources.b"'),
    );
    expect((await foundIn(file))[0]!.found_in).toEndWith("secrets.toml [sources.b]");
  });

  test(".restload/secrets.toml is used when there is no secrets.toml", async () => {
    const file = project({ ".restload/secrets.toml": 'github_token = "ghp_test_value"\n' });
    expect((await foundIn(file))[0]!.found_in).toContain(join(".restload", "secrets.toml"));
  });

  test(".dlt/secrets.toml is used when there is no secrets.toml or .restload/secrets.toml", async () => {
    const file = project({ ".dlt/secrets.toml": '[sources.rest_api.github]\ngithub_token = "ghp_test_value"\n' });
    expect((await foundIn(file))[0]!.found_in).toBe(`${join(file, "..", ".dlt", "secrets.toml")} [sources.rest_api.github]`);
  });

  test("secrets.toml beside the pipeline wins over .dlt/secrets.toml", async () => {
    const file = project({ "secrets.toml": 'github_token = "mine"\n', ".dlt/secrets.toml": '[sources.github]\ngithub_token = "dlt"\n' });
    expect((await foundIn(file))[0]!.found_in).toBe(`${join(file, "..", "secrets.toml")} (top level)`);
  });

  test(".restload/secrets.toml wins over .dlt/secrets.toml", async () => {
    const file = project({
      ".restload/secrets.toml": 'github_token = "mine"\n',
      ".dlt/secrets.toml": '[sources.github]\ngithub_token = "dlt"\n',
    });
    expect((await foundIn(file))[0]!.found_in).toBe(`${join(file, "..", ".restload", "secrets.toml")} (top level)`);
  });

  test("a secret missing from the file in use names the .dlt/secrets.toml it did not read", async () => {
    const file = project({ "secrets.toml": 'other = "x"\n', ".dlt/secrets.toml": '[sources.github]\ngithub_token = "dlt"\n' });
    const result = await runMain(["check", file]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(
      `${join(file, "..", ".dlt", "secrets.toml")} not read as ${join(file, "..", "secrets.toml")} is the secrets file`,
    );
  });

  test("a .dlt/secrets.toml readable by others gets the same warning", async () => {
    const file = project({ ".dlt/secrets.toml": 'github_token = "ghp_test_value"\n' });
    chmodSync(join(file, "..", ".dlt", "secrets.toml"), 0o640);
    const result = await runMain(["check", file]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`the secrets file ${join(file, "..", ".dlt", "secrets.toml")} is readable by other users (mode 640)`);
  });

  test("--secrets names the file to use", async () => {
    const other = join(tempDir(), "prod-secrets.toml");
    writeFileSync(other, 'github_token = "value-from-prod-file"\n', { mode: 0o600 });
    const file = project({ "secrets.toml": "# nothing here\n" });
    expect((await foundIn(file, {}, ["--secrets", other]))[0]!.found_in).toBe(`${other} (top level)`);
  });

  test("--secrets naming a missing file is an error", async () => {
    const result = await runMain(["check", project({}), "--secrets", "/nonexistent/secrets.toml"]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("/nonexistent/secrets.toml");
  });

  test("a missing secret says everywhere it looked, for every missing secret at once", async () => {
    const file = project(
      { "secrets.toml": "[other]\nx = 1\n" },
      pipeline('auth = { type = "http_basic", username = { secret = "user" }, password = { secret = "pass" } }'),
    );
    const result = await runMain(["check", file]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("error[E_SECRET]: 2 secrets are missing");
    expect(result.stderr).toContain(
      'client.auth.username: secret "user" is not set; looked in: environment variable RESTLOAD_SECRET_USER (not set); $CREDENTIALS_DIRECTORY (not set);',
    );
    expect(result.stderr).toContain('client.auth.password: secret "pass" is not set');
    expect(result.stderr).toContain("secrets.toml ([rest_api_github], top level, [sources.*]: no key pass)");
  });

  test("an empty value counts as missing", async () => {
    const file = project({ "secrets.toml": 'github_token = ""\n' });
    const result = await runMain(["check", file], { RESTLOAD_SECRET_GITHUB_TOKEN: "" });
    expect(result.code).toBe(78);
  });

  test("a secrets file readable by others gets a warning, not a failure", async () => {
    const file = project({ "secrets.toml": 'github_token = "ghp_test_value"\n' });
    chmodSync(join(file, "..", "secrets.toml"), 0o644);
    const result = await runMain(["check", file]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("is readable by other users (mode 644); run chmod 600");
  });

  test("--skip-secrets lists the secrets without looking them up", async () => {
    const result = await runMain(["check", project({}), "--skip-secrets", "--json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).secrets).toEqual([
      { name: "github_token", used_at: ["client.auth.token"], found_in: "not looked up (--skip-secrets)" },
    ]);
  });
});

describe("secrets never leave the process", () => {
  test("a canary with +/=& appears in no check output, text or JSON, raw or encoded", async () => {
    const file = project(
      { "secrets.toml": `[rest_api_github]\nuser = "user"\npassword = "${canary}"\n` },
      pipeline(
        'auth = { type = "http_basic", username = { secret = "user" }, password = { secret = "password" } }\nheaders = { "X-Key" = { secret = "password" } }',
      ),
    );
    chmodSync(join(file, "..", "secrets.toml"), 0o644);
    const text = await runMain(["check", file]);
    const json = await runMain(["check", file, "--json"]);
    expect(text.code).toBe(0);
    expect(json.code).toBe(0);
    expectNoCanary(text.stdout, text.stderr, json.stdout, json.stderr);
  });

  test("a canary in a broken secrets file is not quoted in the syntax error", async () => {
    const file = project({ "secrets.toml": `github_token = "${canary}\nnot toml at all\n` });
    const result = await runMain(["check", file]);
    const json = await runMain(["check", file, "--json"]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain("error[E_TOML]");
    expect(result.stderr).toMatch(/at line \d+, column \d+/);
    expectNoCanary(result.stdout, result.stderr, json.stdout, json.stderr);
  });

  test("a canary stays out of errors about other problems of the same run", async () => {
    const file = project(
      { "secrets.toml": `github_token = "${canary}"\n` },
      pipeline(undefined, "").replace('name = "issues"', 'name = "issues"\nendpoint.paginator = "bogus"'),
    );
    const result = await runMain(["check", file]);
    expect(result.code).toBe(78);
    expectNoCanary(result.stdout, result.stderr);
  });
});

describe("a dlt project folder", () => {
  const servers: TestServer[] = [];
  afterAll(async () => {
    for (const server of servers) await server.stop();
  });

  test("pipeline.toml with dlt's .dlt/secrets.toml runs unchanged, and .dlt/config.toml is not read", async () => {
    const server = startServer((request) =>
      request.headers.get("authorization") === `Bearer ${canary}`
        ? json([{ id: 1 }])
        : json({ message: "Bad credentials" }, { status: 401 }),
    );
    servers.push(server);
    const file = project(
      {
        ".dlt/secrets.toml": `[sources.github]\naccess_token = "${canary}"\n\n[destination.duckdb.credentials]\ndatabase = "elsewhere.duckdb"\n`,
        // dlt's config file: not restload's, never read (this one would not even parse).
        ".dlt/config.toml": '[runtime]\nlog_level = "WARNING"\n[sources.github]\nbase_url = "http://127.0.0.1:9/"\nnot toml at all\n',
      },
      `[pipeline]\nname = "github"\n\n[client]\nbase_url = "${server.url}"\nauth = { type = "bearer", token = { secret = "access_token" } }\n\n[[resources]]\nname = "issues"\n`,
    );
    expect(await foundIn(file)).toEqual([
      { name: "access_token", used_at: ["client.auth.token"], found_in: `${join(file, "..", ".dlt", "secrets.toml")} [sources.github]` },
    ]);
    const result = await runMain(["run", file]);
    expect(result.stderr).not.toContain("error");
    expect(result.code).toBe(0);
    expect(server.requests).toHaveLength(1);
    expectNoCanary(result.stdout, result.stderr);
  });
});
