// `restload systemd`: generated units pass systemd-analyze verify and carry what a timer job needs.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunBin, repoRoot, run, runMain, tempDir } from "../helpers.ts";

/** The path of systemd-analyze; without it these tests fail saying so, instead of with a bare ENOENT. */
function systemdAnalyze(): string {
  const path = Bun.which("systemd-analyze");
  if (path === null)
    throw new Error('systemd-analyze is not on PATH: these tests verify the generated units with it (Debian package "systemd")');
  return path;
}

describe("restload systemd", () => {
  test("service, timer and status page units pass systemd-analyze verify", async () => {
    const dir = tempDir();
    const result = await runMain([
      "systemd",
      join(repoRoot, "configs", "github.toml"),
      "--serve",
      "--output",
      dir,
      "--binary",
      bunBin,
      "--on-calendar",
      "*:0/15",
      "--max-age",
      "2h",
    ]);
    expect(result.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([
      "restload-rest-api-github.service",
      "restload-rest-api-github.timer",
      "restload-serve-rest-api-github.service",
    ]);
    const verify = await run([systemdAnalyze(), "verify", ...readdirSync(dir).map((name) => join(dir, name))]);
    expect(verify.stderr).toBe("");
    expect(verify.code).toBe(0);

    const service = readFileSync(join(dir, "restload-rest-api-github.service"), "utf8");
    expect(service).toContain("Type=oneshot");
    expect(service).toContain(`ExecStart=${bunBin} run ${join(repoRoot, "configs", "github.toml")} --lock-timeout 120`);
    expect(service).toContain("LoadCredential=github_token:/etc/restload/credentials/github_token");
    expect(service).toContain("DynamicUser=yes\nUser=restload");
    expect(service).toContain("StateDirectory=restload\nCacheDirectory=restload");
    expect(service).toContain("TimeoutStartSec=2h");
    expect(service).not.toMatch(/^MemoryDenyWriteExecute=/m);
    expect(service).not.toContain("ReadWritePaths=");
    const timer = readFileSync(join(dir, "restload-rest-api-github.timer"), "utf8");
    expect(timer).toContain("OnCalendar=*:0/15\nPersistent=true\nRandomizedDelaySec=120");
    const serve = readFileSync(join(dir, "restload-serve-rest-api-github.service"), "utf8");
    expect(serve).toContain(`serve --database /var/lib/restload/rest_api_github.duckdb --host 127.0.0.1 --port 8484 --max-age 2h`);
    expect(serve).toContain("User=restload");
  });

  test("a pipeline reading environment variables gets a warning naming them; one that reads none gets none", async () => {
    const dir = tempDir();
    const pipeline = join(dir, "env.toml");
    writeFileSync(
      pipeline,
      `[pipeline]\nname = "envy"\n[client]\nbase_url = "https://api.example.com/"\nheaders = { "X-Token" = { env = "MY_TOKEN" }, "X-Team" = { env = "MY_TEAM" } }\n[[resources]]\nname = "items"\n`,
    );
    const warned = await runMain(["systemd", pipeline, "--binary", bunBin], { ...process.env, MY_TOKEN: "t", MY_TEAM: "a" });
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain("warning: the pipeline reads MY_TOKEN, MY_TEAM from the environment");
    expect(warned.stderr).toContain("restload-envy.service");
    const quiet = await runMain(["systemd", join(repoRoot, "configs", "pokeapi.toml"), "--binary", bunBin]);
    expect(quiet.stderr).not.toContain("from the environment");
  });

  test("without --output the units are printed", async () => {
    const result = await runMain(["systemd", join(repoRoot, "configs", "pokeapi.toml"), "--binary", bunBin]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("# restload-pokeapi.service\n[Unit]");
    expect(result.stdout).toContain("# restload-pokeapi.timer\n[Unit]");
    expect(result.stdout).not.toContain("LoadCredential=");
  });

  test("a database outside the state directory gets ReadWritePaths=; % is escaped; a bad --port is refused", async () => {
    const dir = tempDir();
    const pipeline = join(dir, "p%1.toml");
    writeFileSync(
      pipeline,
      '[pipeline]\nname = "elsewhere"\ndatabase = "/srv/data/elsewhere.duckdb"\n[client]\nbase_url = "https://api.example.com/"\n[[resources]]\nname = "items"\n',
    );
    const out = join(dir, "units");
    expect((await runMain(["systemd", pipeline, "--output", out, "--binary", bunBin])).code).toBe(0);
    const service = readFileSync(join(out, "restload-elsewhere.service"), "utf8");
    expect(service).toContain("ReadWritePaths=/srv/data");
    expect(service).toContain(`${join(dir, "p%%1.toml")}`);
    const verify = await run([systemdAnalyze(), "verify", join(out, "restload-elsewhere.service"), join(out, "restload-elsewhere.timer")]);
    expect(verify.code).toBe(0);
    expect((await runMain(["systemd", pipeline, "--serve", "--port", "x", "--binary", bunBin])).code).toBe(64);
  });
});
