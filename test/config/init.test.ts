// `restload init` templates and the real-world pipelines under configs/.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cannotWriteError } from "../../src/cli/init.ts";
import { RestloadError } from "../../src/errors.ts";
import { bunBin, mainTs, repoRoot, run, runMain, tempDir } from "../helpers.ts";

/**
 * `restload init generic <target>` as the user nobody: root writes through any mode, so a test run
 * as root needs another user to meet a refusal (setpriv is util-linux's, on every Debian).
 */
function initAsNobody(dir: string, target: string) {
  chmodSync(dir, 0o755);
  return run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", bunBin, mainTs, "init", "generic", target], {
    env: { ...process.env, HOME: dir },
  });
}

describe("restload init", () => {
  for (const template of ["github", "pokeapi", "generic", "export-job"]) {
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

  test("the export-job template writes its module: an async generator that check finds, with refresh-token auth", async () => {
    const dir = join(tempDir(), "saas");
    const result = await runMain(["init", "export-job", dir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`wrote ${join(dir, "export.ts")}`);
    const module = (await import(join(dir, "export.ts"))) as { contacts: unknown };
    expect((module.contacts as { constructor: { name: string } }).constructor.name).toBe("AsyncGeneratorFunction");
    const check = await runMain(["check", join(dir, "pipeline.toml"), "--skip-secrets", "--json"]);
    expect(check.code).toBe(0);
    const plan = JSON.parse(check.stdout) as { resources: { name: string; module?: unknown }[]; auth?: unknown };
    expect(plan.resources.find((resource) => resource.name === "contacts")?.module).toBeDefined();
    expect(check.stdout).toContain("oauth2_refresh_token");
    // A second init into the same folder refuses and leaves the three files alone.
    expect((await runMain(["init", "export-job", dir])).code).toBe(1);
  });

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

  test("a folder this user may not write in is named, with what to do, not a bare EACCES", async () => {
    const dir = tempDir();
    const locked = join(dir, "locked");
    mkdirSync(locked);
    chmodSync(locked, 0o555);
    const target = join(locked, "project");
    const result = process.getuid?.() === 0 ? await initAsNobody(dir, target) : await runMain(["init", "generic", target]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error[E_IO]: Cannot write the template into ${target} as this user may not write in ${locked} (permission denied)`,
    );
    expect(result.stderr).toContain(`or ask for write access to ${locked}`);
    expect(result.stderr).not.toContain("EACCES");
    expect(existsSync(join(target, "pipeline.toml"))).toBe(false);
  });

  test("a file standing where a folder of the path should be is named (ENOTDIR, EEXIST)", async () => {
    const dir = tempDir();
    const file = join(dir, "notes.txt");
    writeFileSync(file, "mine\n");
    const below = await runMain(["init", "generic", join(file, "project")]);
    expect(below.code).toBe(1);
    expect(below.stderr).toContain(
      `error[E_IO]: Cannot write the template into ${join(file, "project")} as ${file} is a file, not a folder`,
    );
    expect(below.stderr).not.toContain("ENOTDIR");
    const itself = await runMain(["init", "generic", file]);
    expect(itself.code).toBe(1);
    expect(itself.stderr).toContain(`as ${file} is a file, not a folder`);
    expect(readFileSync(file, "utf8")).toBe("mine\n");
  });

  test("each refusal of the file system reads as a sentence naming the folder", () => {
    const dir = tempDir();
    const refused = (code: string) => {
      const error = cannotWriteError(Object.assign(new Error(`${code}: refused`), { code, path: join(dir, "pipeline.toml") }), dir);
      if (!(error instanceof RestloadError)) throw new Error(`${code} gave no RestloadError`);
      return { code: error.code, message: error.message, file: error.context.file };
    };
    expect(refused("EACCES")).toEqual({
      code: "E_IO",
      message: `Cannot write the template into ${dir} as this user may not write in ${dir} (permission denied)`,
      file: dir,
    });
    expect(refused("EPERM").message).toBe(refused("EACCES").message);
    expect(refused("EROFS").message).toBe(`Cannot write the template into ${dir} as ${dir} is on a read-only file system`);
    expect(refused("ENOSPC").message).toBe(`Cannot write the template into ${dir} as the file system refused it (ENOSPC: refused)`);
    const other = new Error("not the file system's");
    expect(cannotWriteError(other, dir)).toBe(other);
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
