// `restload systemd <pipeline.toml>`: a oneshot service and a timer (and a status page service).
import type { CAC } from "cac";
import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { loadPipelineFile } from "../config/load.ts";
import { RestloadError } from "../errors.ts";
import { plan } from "../plan/index.ts";
import type { Io } from "./_io.ts";
import { secondsFlag } from "./_options.ts";
import { type PathFinding, type ServicePath, checkServicePaths, modulePaths } from "./_systemd-paths.ts";
import { inStateDirectory, sandbox, serveUnit, serviceUnit, timerUnit, writableOutsideState } from "./_systemd-units.ts";

interface SystemdFlags {
  onCalendar?: string;
  credentialsDir?: string;
  binary?: string;
  serve?: boolean;
  port?: unknown;
  maxAge?: unknown;
  onFailure?: string;
  output?: string;
  install?: boolean;
  force?: boolean;
}

/** A JavaScript runtime rather than restload itself: running from the sources, or given as --binary by mistake. */
const runtimeName = /(?:^|\/)(bun|deno|node)(?:\.exe)?$/;

export function registerSystemd(cli: CAC, io: Io): void {
  cli
    .command("systemd <pipeline>", "Write a oneshot service and a timer for a pipeline (and, with --serve, a status page service)")
    .usage(
      "systemd <pipeline.toml> [options]\n\n" +
        "  Writes restload-<pipeline>.service (a hardened oneshot running `restload run` as a dynamic user) and\n" +
        "  restload-<pipeline>.timer. Paths go into the units absolute. Refuses (exit 78) when the service\n" +
        "  certainly cannot reach the binary, the pipeline, a module it loads or the database directory: under\n" +
        "  /tmp or /var/tmp (PrivateTmp=), /home, /root or /run/user (ProtectHome=), a directory others cannot\n" +
        "  search or a file others cannot read (DynamicUser=), a database directory others cannot write. Warns\n" +
        "  where it is only likely (/dev/shm, a missing file, running from the sources); --force writes the\n" +
        "  units anyway. Where the service sees them: the binary in /usr/local/bin or /opt/restload, the pipeline\n" +
        "  and its modules in /etc/restload, a relative pipeline.database (it then lives in /var/lib/restload).",
    )
    .option("--on-calendar <spec>", "When to run (systemd OnCalendar=, default: hourly)")
    .option("--credentials-dir <dir>", "Where LoadCredential= reads the secrets from (default: /etc/restload/credentials)")
    .option("--binary <path>", "The restload executable (default: this one when compiled, else /usr/local/bin/restload)")
    .option("--serve", "Also write restload-serve-<pipeline>.service for the status page")
    .option("--port <port>", "Port of the status page (default: 8484)")
    .option("--max-age <duration>", "The status page's /healthz max age")
    .option("--on-failure <unit>", "OnFailure= unit to start when a run fails")
    .option("--output <dir>", "Write the files into this directory instead of printing them")
    .option("--install", "Write the files into /etc/systemd/system")
    .option("--force", "Write the units even when the service cannot reach a file they need (each is still reported)")
    .example("restload systemd /etc/restload/github.toml --on-calendar hourly --serve --install")
    .action((file: string, flags: SystemdFlags) => runSystemd(io, file, flags));
}

async function runSystemd(io: Io, file: string, flags: SystemdFlags): Promise<number> {
  const loaded = loadPipelineFile(file, io.env);
  // Under systemd a relative database lives in StateDirectory=restload.
  const planned = plan(loaded, { env: { ...io.env, STATE_DIRECTORY: sandbox.stateDirectory } });
  const compiled = !runtimeName.test(process.execPath);
  const options = {
    name: planned.pipeline.replace(/_/g, "-"),
    binary: flags.binary === undefined ? (compiled ? process.execPath : "/usr/local/bin/restload") : resolveBinary(flags.binary, io.env),
    pipelineFile: loaded.file,
    onCalendar: flags.onCalendar ?? "hourly",
    secrets: [...new Set(loaded.secrets.map((ref) => ref.name))],
    credentialsDir: resolve(flags.credentialsDir ?? "/etc/restload/credentials"),
    database: planned.database,
    exportDir: planned.export?.dir ?? null,
    onFailure: flags.onFailure ?? null,
    servePort: flags.port === undefined ? 8484 : Number(flags.port),
    maxAge: flags.maxAge === undefined ? null : String(flags.maxAge),
  };
  if (!Number.isInteger(options.servePort) || options.servePort < 1 || options.servePort > 65535) {
    throw new RestloadError("E_USAGE", `--port expects a port number, got "${String(flags.port)}"`);
  }
  if (flags.maxAge !== undefined) secondsFlag("--max-age", flags.maxAge, "Pass e.g. --max-age 90m, 2h or 1d.");
  if (flags.binary === undefined && !compiled) {
    await io.stderr(
      `warning: restload runs from its sources here, so ExecStart= runs ${options.binary}, which must be the compiled binary (npm run build writes dist/restload); --binary names another\n`,
    );
  }
  const runtime = runtimeName.exec(options.binary)?.[1];
  if (flags.binary !== undefined && runtime !== undefined) {
    await io.stderr(
      `warning: --binary ${options.binary} is the ${runtime} runtime, not restload: ExecStart= would run "${runtime} run ${loaded.file}"; give the compiled binary (npm run build writes dist/restload)\n`,
    );
  }
  await reportPaths(io, servicePaths(options, loaded), flags.force === true);
  // The lake is for other users' engines: in the state directory, DynamicUser= hides it from them.
  if (options.exportDir !== null && inStateDirectory(options.exportDir))
    await io.stderr(
      `warning: ${options.exportDir}: the export folder is in the service's state directory, which DynamicUser= keeps under /var/lib/private, readable by root only; set [export] dir to an absolute folder readers can reach (e.g. /srv/lake)\n`,
    );
  if (loaded.envNames.length > 0) {
    // The units pass no environment of the shell that wrote them: a run would stop at its first step.
    await io.stderr(
      `warning: the pipeline reads ${loaded.envNames.join(", ")} from the environment ({ env = … }), which the units do not set: add Environment= or EnvironmentFile= to restload-${options.name}.service, or use { secret = … } (LoadCredential=)\n`,
    );
  }
  const files: [string, string][] = [
    [`restload-${options.name}.service`, serviceUnit(options)],
    [`restload-${options.name}.timer`, timerUnit(options)],
    ...(flags.serve ? [[`restload-serve-${options.name}.service`, serveUnit(options)] as [string, string]] : []),
  ];
  const target = flags.install ? "/etc/systemd/system" : flags.output;
  if (target === undefined) {
    await io.stdout(files.map(([name, text]) => `# ${name}\n${text}`).join("\n"));
    return 0;
  }
  if (!existsSync(target)) {
    if (flags.install)
      throw new RestloadError("E_IO", `Cannot install the units as ${target} does not exist`, { hint: "Is this a systemd machine?" });
    mkdirSync(target, { recursive: true });
  }
  for (const [name, text] of files) writeFileSync(join(target, name), text, { mode: 0o644 });
  await io.stdout(
    [
      ...files.map(([name]) => `wrote ${join(target, name)}`),
      "",
      // Nothing to say about secrets when the pipeline has none: the units load no credentials.
      ...(options.secrets.length > 0
        ? [`secrets: put ${options.secrets.map((s) => `${options.credentialsDir}/${s}`).join(", ")} (mode 600, owned by root)`]
        : []),
      `next: systemctl daemon-reload && systemctl enable --now restload-${options.name}.timer${flags.serve ? ` restload-serve-${options.name}.service` : ""}`,
      `(the database will be ${options.database}; see the journal with journalctl -u restload-${options.name})`,
      "",
    ].join("\n"),
  );
  return 0;
}

// internal

/** Every file the service reads or writes: the binary, the pipeline and its modules, the database's directory, the credentials. */
function servicePaths(
  options: { binary: string; database: string; exportDir: string | null; secrets: readonly string[]; credentialsDir: string },
  loaded: { file: string; dir: string; config: unknown },
): ServicePath[] {
  return [
    { role: "binary", path: options.binary },
    { role: "pipeline", path: loaded.file },
    ...modulePaths(loaded.config, loaded.dir).map((path): ServicePath => ({ role: "module", path })),
    // StateDirectory= is made for the service by systemd; any other directory is the operator's to get right.
    ...writableOutsideState(options),
    ...(options.secrets.length > 0 ? [{ role: "credentials", path: options.credentialsDir } as const] : []),
  ];
}

/**
 * Prints a warning for each path the service may not reach, and refuses (E_CONFIG) when it
 * certainly cannot reach one, unless `force`: then those are warnings too.
 */
async function reportPaths(io: Io, paths: readonly ServicePath[], force: boolean): Promise<void> {
  const findings = checkServicePaths(paths);
  const refusals = findings.filter((finding) => finding.severity === "refuse");
  const line = (finding: PathFinding, suffix = "") => `warning: ${finding.path}: ${finding.message}${suffix}\n`;
  for (const finding of findings) {
    if (finding.severity === "warn") await io.stderr(line(finding));
    else if (force) await io.stderr(line(finding, " (written anyway: --force)"));
  }
  if (refusals.length === 0 || force) return;
  throw new RestloadError(
    "E_CONFIG",
    `Cannot write units whose service cannot reach ${refusals.length === 1 ? "a file it needs" : `${refusals.length} files it needs`}`,
    {
      hint: "Move each file as its line says and run restload systemd again; --force writes the units anyway.",
      context: { file: refusals[0]!.path },
      problems: refusals.map((finding) => ({ path: finding.path, message: finding.message })),
    },
  );
}

/** `--binary`: a bare name is looked up on PATH as a shell would, anything else resolved against the working directory. */
function resolveBinary(given: string, env: Readonly<Record<string, string | undefined>>): string {
  if (given.includes("/")) return resolve(given);
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    const candidate = resolve(dir || ".", given);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // Not in this directory.
    }
  }
  return resolve(given);
}
