// `restload systemd` refuses paths the sandboxed service certainly cannot reach, warns about likely ones, and writes absolute paths.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { restload, runMain } from "../helpers.ts";
import { printedUnits, removeScratch, scratchDir } from "./_systemd.ts";

afterAll(removeScratch);

const pipelineToml = (extra = "") =>
  `[pipeline]\nname = "paths"\n${extra}[client]\nbase_url = "https://api.example.com/"\n[[resources]]\nname = "items"\n`;

/** An executable file standing in for the binary where only its path and mode matter. */
function executable(path: string, mode = 0o755): string {
  writeFileSync(path, "#!/bin/sh\n");
  chmodSync(path, mode);
  return path;
}

/** A pipeline, binary and database layout the service can reach, in a fresh directory outside /tmp (mode 755). */
function reachable(extra = ""): { dir: string; pipeline: string; binary: string } {
  const dir = scratchDir("/dev/shm");
  chmodSync(dir, 0o755);
  const pipeline = join(dir, "paths.toml");
  writeFileSync(pipeline, pipelineToml(extra));
  chmodSync(pipeline, 0o644);
  return { dir, pipeline, binary: executable(join(dir, "restload")) };
}

describe("restload systemd path checks", () => {
  test("a pipeline and a binary under /tmp are refused, each named with PrivateTmp= and where to move it; --force writes the units and warns", async () => {
    const dir = scratchDir("/tmp");
    const pipeline = join(dir, "paths.toml");
    writeFileSync(pipeline, pipelineToml());
    const binary = executable(join(dir, "restload"));
    const out = join(dir, "units");
    const refused = await runMain(["systemd", pipeline, "--binary", binary, "--output", out]);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain("error[E_CONFIG]: Cannot write units whose service cannot reach 2 files it needs");
    expect(refused.stderr).toContain(
      `× ${pipeline}: the pipeline file is under /tmp, which PrivateTmp= replaces with an empty directory for the service; move it to /etc/restload (install -D -m 644 ${pipeline} /etc/restload/paths.toml)`,
    );
    expect(refused.stderr).toContain(
      `× ${binary}: the restload binary is under /tmp, which PrivateTmp= replaces with an empty directory for the service; install it where the service can run it (install -m 755 ${binary} /usr/local/bin/restload)`,
    );
    expect(refused.stderr).toContain("--force writes the units anyway");
    expect(existsSync(out)).toBe(false);

    const forced = await runMain(["systemd", pipeline, "--binary", binary, "--output", out, "--force"]);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain(`warning: ${pipeline}: the pipeline file is under /tmp`);
    expect(forced.stderr).toContain("(written anyway: --force)");
    expect(readFileSync(join(out, "restload-paths.service"), "utf8")).toContain(`ExecStart=${binary} run ${pipeline} --lock-timeout 120`);
  });

  test("a pipeline reached through a link into /tmp is refused, naming the link's target", async () => {
    const target = join(scratchDir("/tmp"), "real.toml");
    writeFileSync(target, pipelineToml());
    const { dir, binary } = reachable();
    const link = join(dir, "linked.toml");
    symlinkSync(target, link);
    const result = await runMain(["systemd", link, "--binary", binary]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(`× ${link}: the pipeline file links to ${target}, which is under /tmp, which PrivateTmp= replaces`);
  });

  test("a binary or database under /home or /root is refused (ProtectHome=)", async () => {
    const { pipeline } = reachable('database = "/home/ann/data/paths.duckdb"\n');
    const result = await runMain(["systemd", pipeline, "--binary", "/root/bin/restload"]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain(
      "× /root/bin/restload: the restload binary is under /root, which ProtectHome= makes inaccessible to the service",
    );
    expect(result.stderr).toContain(
      "× /home/ann/data: the database directory is under /home, which ProtectHome= makes inaccessible to the service; set pipeline.database to a relative path: the units then keep it in /var/lib/restload",
    );
  });

  test("a directory others cannot search, or a file others cannot read, is refused for the dynamic user; fixing the modes is accepted", async () => {
    const { dir, pipeline, binary } = reachable();
    const pipelineDir = join(dir, "private");
    mkdirSync(pipelineDir, { mode: 0o700 });
    const hidden = join(pipelineDir, "paths.toml");
    copyFileSync(pipeline, hidden);
    chmodSync(hidden, 0o644);

    const unreachable = await runMain(["systemd", hidden, "--binary", binary]);
    expect(unreachable.code).toBe(78);
    expect(unreachable.stderr).toContain(
      `× ${hidden}: the service's dynamic user, which gets only the permissions for others, cannot reach the pipeline file: ${pipelineDir} (mode 0700, owner `,
    );
    expect(unreachable.stderr).toContain(`does not let it search the directory (x); chmod o+x ${pipelineDir}, or move it to /etc/restload`);

    chmodSync(pipelineDir, 0o755);
    chmodSync(hidden, 0o600);
    const unreadable = await runMain(["systemd", hidden, "--binary", binary]);
    expect(unreadable.code).toBe(78);
    expect(unreadable.stderr).toContain(`cannot read the pipeline file (mode 0600, owner `);
    expect(unreadable.stderr).toContain(`needs r); chmod 644 ${hidden}`);

    chmodSync(hidden, 0o644);
    chmodSync(binary, 0o700);
    const unrunnable = await runMain(["systemd", hidden, "--binary", binary]);
    expect(unrunnable.code).toBe(78);
    expect(unrunnable.stderr).toContain(
      `× ${binary}: the service's dynamic user, which gets only the permissions for others, cannot run the restload binary (mode 0700`,
    );

    chmodSync(binary, 0o755);
    const accepted = await runMain(["systemd", hidden, "--binary", binary]);
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).not.toContain("dynamic user");
    // /dev/shm, where this test keeps its files, is visible to the service but emptied at reboot.
    expect(accepted.stderr).toContain(
      `warning: ${hidden}: the pipeline file is under /dev/shm, a memory file system emptied at every reboot`,
    );
  });

  test("a module file of the pipeline others cannot read is refused; a missing one is a warning", async () => {
    const { dir, binary } = reachable();
    const pipeline = join(dir, "hooks.toml");
    writeFileSync(
      pipeline,
      `[pipeline]\nname = "hooks"\n[client]\nbase_url = "https://api.example.com/"\n[[resources]]\nname = "items"\nprocessing_steps = [{ map = { module = "./steps.ts", export = "tidy" } }]\n`,
    );
    chmodSync(pipeline, 0o644);
    const missing = await runMain(["systemd", pipeline, "--binary", binary]);
    expect(missing.code).toBe(0);
    expect(missing.stderr).toContain(`warning: ${join(dir, "steps.ts")}: the module file the pipeline loads does not exist`);

    writeFileSync(join(dir, "steps.ts"), "export const tidy = (record: unknown) => record;\n");
    chmodSync(join(dir, "steps.ts"), 0o600);
    const refused = await runMain(["systemd", pipeline, "--binary", binary]);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain(
      `× ${join(dir, "steps.ts")}: the service's dynamic user, which gets only the permissions for others, cannot read the module file`,
    );
  });

  test("a database directory the dynamic user cannot write is refused; a missing one is a warning; a relative database is not checked", async () => {
    const unwritable = reachable('database = "/usr/paths.duckdb"\n');
    const refused = await runMain(["systemd", unwritable.pipeline, "--binary", unwritable.binary]);
    expect(refused.code).toBe(78);
    expect(refused.stderr).toContain(
      "× /usr: the service's dynamic user, which gets only the permissions for others, cannot create the database, its WAL and lock files in the database directory (mode 0755, owner ",
    );
    expect(refused.stderr).toContain("set pipeline.database to a relative path");

    const absent = reachable('database = "/nonexistent-restload-test/paths.duckdb"\n');
    const warned = await runMain(["systemd", absent.pipeline, "--binary", absent.binary]);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain(
      "warning: /nonexistent-restload-test: the database directory does not exist: ReadWritePaths= keeps the service from starting",
    );

    // The export folder is written too: the same checks, named as the export folder.
    const exportTo = reachable('database = "paths.duckdb"\n[export]\ndir = "/usr"\n');
    const exportRefused = await runMain(["systemd", exportTo.pipeline, "--binary", exportTo.binary]);
    expect(exportRefused.code).toBe(78);
    expect(exportRefused.stderr).toContain("cannot write Parquet files in the export folder (mode 0755");
    expect(exportRefused.stderr).toContain("choose a folder the service's user can write");
    // A relative export folder lands in the state directory, which DynamicUser= hides from other users.
    const hidden = reachable('database = "paths.duckdb"\n[export]\ndir = "lake"\n');
    const warnedHidden = await runMain(["systemd", hidden.pipeline, "--binary", hidden.binary]);
    expect(warnedHidden.code).toBe(0);
    expect(warnedHidden.stderr).toContain(
      "warning: /var/lib/restload/lake: the export folder is in the service's state directory, which DynamicUser= keeps under /var/lib/private",
    );

    const relative = reachable('database = "paths.duckdb"\n');
    const quiet = await runMain(["systemd", relative.pipeline, "--binary", relative.binary]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain("database");
  });

  test("a credentials directory under /tmp is a warning, not a refusal (the service manager reads credentials, not the service)", async () => {
    const { pipeline, binary } = reachable();
    writeFileSync(pipeline, pipelineToml().replace("[client]\n", '[client]\nauth = { type = "bearer", token = { secret = "token" } }\n'));
    const result = await runMain(["systemd", pipeline, "--binary", binary, "--credentials-dir", "/tmp/restload-credentials"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      "warning: /tmp/restload-credentials: the credentials directory is under /tmp, whose files are cleaned up and gone after a reboot; keep the credentials in /etc/restload/credentials",
    );
  });

  test("relative paths are written absolute, a bare --binary is looked up on PATH, and running from the sources says what ExecStart= runs", async () => {
    const { dir, binary } = reachable();
    mkdirSync(join(dir, "bin"), { mode: 0o755 });
    const onPath = executable(join(dir, "bin", "restload-on-path"));

    const relative = await restload(["systemd", "paths.toml", "--binary", "./restload"], { cwd: dir });
    expect(relative.code).toBe(0);
    expect(printedUnits(relative.stdout).get("restload-paths.service")).toContain(
      `ExecStart=${binary} run ${join(dir, "paths.toml")} --lock-timeout 120`,
    );

    const bare = await runMain(["systemd", join(dir, "paths.toml"), "--binary", "restload-on-path"], {
      PATH: `/nonexistent:${join(dir, "bin")}`,
    });
    expect(bare.code).toBe(0);
    expect(printedUnits(bare.stdout).get("restload-paths.service")).toContain(`ExecStart=${onPath} run `);

    // runMain runs inside bun: restload is running from its sources, with no --binary.
    const fromSources = await runMain(["systemd", join(dir, "paths.toml")]);
    expect(fromSources.stderr).toContain(
      "warning: restload runs from its sources here, so ExecStart= runs /usr/local/bin/restload, which must be the compiled binary (npm run build writes dist/restload)",
    );
    expect(printedUnits(fromSources.stdout).get("restload-paths.service")).toContain("ExecStart=/usr/local/bin/restload run ");

    const runtime = await runMain(["systemd", join(dir, "paths.toml"), "--binary", process.execPath, "--force"]);
    expect(runtime.stderr).toContain(`is the bun runtime, not restload: ExecStart= would run "bun run ${join(dir, "paths.toml")}"`);
  });
});
