// `restload systemd`: generated units pass systemd-analyze verify, score well in its security review, and carry what a timer job needs.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bunBin, repoRoot, run, runMain, tempDir } from "../helpers.ts";
import { exposureLevel, systemdAnalyze } from "./_systemd.ts";

// The repository (the pipelines of configs/, the bun binary standing in for restload) may live
// anywhere, /home included, where the path checks refuse it: tests about the units' contents pass
// --force; the path checks have their own tests (systemd-paths.test.ts).

/** `restload systemd <pipeline> …args --binary <bun> --force` in this process (`--force`: these tests are not about path checks). */
const systemd = (pipeline: string, ...args: string[]) => runMain(["systemd", pipeline, ...args, "--binary", bunBin, "--force"]);

describe("restload systemd", () => {
  test("service, timer and status page units pass systemd-analyze verify", async () => {
    const dir = tempDir();
    const result = await systemd(
      join(repoRoot, "configs", "github.toml"),
      "--serve",
      "--output",
      dir,
      "--on-calendar",
      "*:0/15",
      "--max-age",
      "2h",
    );
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

  test("the run and status page services score at most 2.0 in systemd-analyze security, without MemoryDenyWriteExecute=", async () => {
    const dir = tempDir();
    const result = await systemd(join(repoRoot, "configs", "github.toml"), "--serve", "--output", dir);
    expect(result.code).toBe(0);
    for (const name of ["restload-rest-api-github.service", "restload-serve-rest-api-github.service"]) {
      const unit = readFileSync(join(dir, name), "utf8");
      // The JIT needs writable executable memory: the unit must keep working, whatever the score.
      expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m);
      const { level, report } = await exposureLevel(join(dir, name));
      if (level > 2.0) console.error(report);
      expect(level).toBeLessThanOrEqual(2.0);
    }
  });

  test("a pipeline reading environment variables gets a warning naming them; one that reads none gets none", async () => {
    const dir = tempDir();
    const pipeline = join(dir, "env.toml");
    writeFileSync(
      pipeline,
      `[pipeline]\nname = "envy"\n[client]\nbase_url = "https://api.example.com/"\nheaders = { "X-Token" = { env = "MY_TOKEN" }, "X-Team" = { env = "MY_TEAM" } }\n[[resources]]\nname = "items"\n`,
    );
    const warned = await runMain(["systemd", pipeline, "--binary", bunBin, "--force"], { ...process.env, MY_TOKEN: "t", MY_TEAM: "a" });
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain("warning: the pipeline reads MY_TOKEN, MY_TEAM from the environment");
    expect(warned.stderr).toContain("restload-envy.service");
    const quiet = await systemd(join(repoRoot, "configs", "pokeapi.toml"));
    expect(quiet.stderr).not.toContain("from the environment");
  });

  test("without --output the units are printed", async () => {
    const result = await systemd(join(repoRoot, "configs", "pokeapi.toml"));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("# restload-pokeapi.service\n[Unit]");
    expect(result.stdout).toContain("# restload-pokeapi.timer\n[Unit]");
    expect(result.stdout).not.toContain("LoadCredential=");
  });

  test("a pipeline without secrets is told nothing about secrets; one with secrets where to put each", async () => {
    const none = await systemd(join(repoRoot, "configs", "pokeapi.toml"), "--output", tempDir());
    expect(none.code).toBe(0);
    expect(none.stdout).toContain("next: systemctl daemon-reload");
    expect(none.stdout + none.stderr).not.toMatch(/secret|credential/i);
    const some = await systemd(join(repoRoot, "configs", "github.toml"), "--output", tempDir(), "--credentials-dir", "/etc/restload/creds");
    expect(some.code).toBe(0);
    expect(some.stdout).toContain("secrets: put /etc/restload/creds/github_token (mode 600, owned by root)\n");
  });

  test("a database and an export folder outside the state directory get ReadWritePaths=; % is escaped; a bad --port is refused", async () => {
    const dir = tempDir();
    const pipeline = join(dir, "p%1.toml");
    writeFileSync(
      pipeline,
      '[pipeline]\nname = "elsewhere"\ndatabase = "/srv/data/elsewhere.duckdb"\n[export]\ndir = "/srv/lake"\n[client]\nbase_url = "https://api.example.com/"\n[[resources]]\nname = "items"\n',
    );
    const out = join(dir, "units");
    const written = await systemd(pipeline, "--output", out);
    expect(written.code).toBe(0);
    const service = readFileSync(join(out, "restload-elsewhere.service"), "utf8");
    expect(service).toContain("ReadWritePaths=/srv/data\nReadWritePaths=/srv/lake\n");
    expect(service).toContain(`${join(dir, "p%%1.toml")}`);
    const verify = await run([systemdAnalyze(), "verify", join(out, "restload-elsewhere.service"), join(out, "restload-elsewhere.timer")]);
    expect(verify.code).toBe(0);
    expect((await systemd(pipeline, "--serve", "--port", "x")).code).toBe(64);
  });
});
