// `restload init` templates and the real-world pipelines under configs/.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot, runMain, tempDir } from "../helpers.ts";

describe("restload init", () => {
  for (const template of ["github", "pokeapi", "generic"]) {
    test(`the ${template} template writes pipeline.toml and a private secrets.toml that pass check`, async () => {
      const dir = join(tempDir(), "new-project");
      const result = await runMain(["init", template, dir]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`restload check ${join(dir, "pipeline.toml")}`);
      expect(statSync(join(dir, "secrets.toml")).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, "pipeline.toml")).mode & 0o022).toBe(0);
      const check = await runMain(["check", join(dir, "pipeline.toml"), "--skip-secrets"]);
      expect(check.stderr).toBe("");
      expect(check.code).toBe(0);
    });
  }

  test("the github template asks for its token until one is given", async () => {
    const dir = tempDir();
    await runMain(["init", "github", dir]);
    const missing = await runMain(["check", join(dir, "pipeline.toml")]);
    expect(missing.code).toBe(78);
    expect(missing.stderr).toContain('secret "github_token" is not set');
    writeFileSync(join(dir, "secrets.toml"), '[github]\ngithub_token = "github_pat_example"\n');
    const found = await runMain(["check", join(dir, "pipeline.toml")]);
    expect(found.code).toBe(0);
    expect(found.stdout).toContain(`github_token: ${join(dir, "secrets.toml")} [github]`);
  });

  test("refuses to overwrite and leaves existing files alone", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "pipeline.toml"), "# mine\n");
    const result = await runMain(["init", "pokeapi", dir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error[E_EXISTS]");
    expect(readFileSync(join(dir, "pipeline.toml"), "utf8")).toBe("# mine\n");
    expect(existsSync(join(dir, "secrets.toml"))).toBe(false);
  });

  test("an unknown template is a usage error with a suggestion", async () => {
    const result = await runMain(["init", "githb", tempDir()]);
    expect(result.code).toBe(64);
    expect(result.stderr).toContain('Unknown template "githb" (did you mean "github"?)');
  });

  test("a directory alone means the generic template there", async () => {
    const dir = tempDir();
    const result = await runMain(["init", `${dir}/sub`]);
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, "sub", "pipeline.toml"), "utf8")).toContain('name = "my_api"');
  });
});

describe("configs/", () => {
  const configs = readdirSync(join(repoRoot, "configs")).filter((name) => name.endsWith(".toml"));

  test("holds GitHub, PokeAPI and at least two more real-world pipelines", () => {
    expect(configs).toEqual(expect.arrayContaining(["github.toml", "pokeapi.toml"]));
    expect(configs.length).toBeGreaterThanOrEqual(4);
  });

  for (const name of configs) {
    test(`${name} passes check --skip-secrets`, async () => {
      const result = await runMain(["check", join(repoRoot, "configs", name), "--skip-secrets"], {
        RESTLOAD_DEMO_URL: "http://127.0.0.1:1/",
      });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    });
  }
});
