// `restload systemd <pipeline.toml>`: a oneshot service and a timer (and a status page service).
import type { CAC } from "cac";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadPipelineFile } from "../config/load.ts";
import { RestloadError } from "../errors.ts";
import { plan } from "../plan/index.ts";
import type { Io } from "./_io.ts";
import { serveUnit, serviceUnit, timerUnit } from "./_systemd-units.ts";
import { parseDuration } from "./serve.ts";

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
}

export function registerSystemd(cli: CAC, io: Io): void {
  cli
    .command("systemd <pipeline>", "Write a oneshot service and a timer for a pipeline (and, with --serve, a status page service)")
    .option("--on-calendar <spec>", "When to run (systemd OnCalendar=, default: hourly)")
    .option("--credentials-dir <dir>", "Where LoadCredential= reads the secrets from (default: /etc/restload/credentials)")
    .option("--binary <path>", "The restload executable (default: this one when compiled, else /usr/local/bin/restload)")
    .option("--serve", "Also write restload-serve-<pipeline>.service for the status page")
    .option("--port <port>", "Port of the status page (default: 8484)")
    .option("--max-age <duration>", "The status page's /healthz max age")
    .option("--on-failure <unit>", "OnFailure= unit to start when a run fails")
    .option("--output <dir>", "Write the files into this directory instead of printing them")
    .option("--install", "Write the files into /etc/systemd/system")
    .example("restload systemd /etc/restload/github.toml --on-calendar hourly --serve --install")
    .action((file: string, flags: SystemdFlags) => runSystemd(io, file, flags));
}

async function runSystemd(io: Io, file: string, flags: SystemdFlags): Promise<number> {
  const loaded = loadPipelineFile(file, io.env);
  // Under systemd a relative database lives in StateDirectory=restload.
  const planned = plan(loaded, { env: { ...io.env, STATE_DIRECTORY: "/var/lib/restload" } });
  const compiled = !/\/(bun|deno|node)(\.exe)?$/.test(process.execPath);
  const options = {
    name: planned.pipeline.replace(/_/g, "-"),
    binary: resolve(flags.binary ?? (compiled ? process.execPath : "/usr/local/bin/restload")),
    pipelineFile: loaded.file,
    onCalendar: flags.onCalendar ?? "hourly",
    secrets: [...new Set(loaded.secrets.map((ref) => ref.name))],
    credentialsDir: flags.credentialsDir ?? "/etc/restload/credentials",
    database: planned.database,
    onFailure: flags.onFailure ?? null,
    servePort: flags.port === undefined ? 8484 : Number(flags.port),
    maxAge: flags.maxAge === undefined ? null : String(flags.maxAge),
  };
  if (!Number.isInteger(options.servePort) || options.servePort < 1 || options.servePort > 65535) {
    throw new RestloadError("E_USAGE", `--port expects a port number, got "${String(flags.port)}"`);
  }
  if (options.maxAge !== null) parseDuration(options.maxAge);
  if (options.database.startsWith("/tmp/") || options.database.startsWith("/var/tmp/")) {
    await io.stderr(
      `warning: the database ${options.database} is in a temporary directory, which PrivateTmp= gives each run afresh: set pipeline.database to a relative path (it then lives in /var/lib/restload)\n`,
    );
  }
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
      `secrets: put ${options.secrets.length > 0 ? options.secrets.map((s) => `${options.credentialsDir}/${s}`).join(", ") : "nothing (the pipeline has none)"} (mode 600, owned by root)`,
      `next: systemctl daemon-reload && systemctl enable --now restload-${options.name}.timer${flags.serve ? ` restload-serve-${options.name}.service` : ""}`,
      `(the database will be ${options.database}; see the journal with journalctl -u restload-${options.name})`,
      "",
    ].join("\n"),
  );
  return 0;
}
