// Unit files for running a pipeline from a systemd timer, and its status page as a service.
import { dirname } from "node:path";

export interface UnitOptions {
  readonly name: string;
  readonly binary: string;
  readonly pipelineFile: string;
  readonly onCalendar: string;
  /** Secret names the pipeline uses, loaded from `credentialsDir` with LoadCredential=. */
  readonly secrets: readonly string[];
  readonly credentialsDir: string;
  /** The database path under the state directory (for the serve unit). */
  readonly database: string;
  readonly onFailure: string | null;
  readonly servePort: number;
  readonly maxAge: string | null;
}

/** User= shared by every restload unit, so DynamicUser= gives them one stable identity and directory. */
const user = "restload";

const hardening = [
  "DynamicUser=yes",
  `User=${user}`,
  `Group=${user}`,
  "StateDirectory=restload",
  "CacheDirectory=restload",
  "UMask=0077",
  "NoNewPrivileges=yes",
  "ProtectSystem=strict",
  "ProtectHome=read-only",
  "PrivateTmp=yes",
  "PrivateDevices=yes",
  "ProtectKernelTunables=yes",
  "ProtectKernelModules=yes",
  "ProtectKernelLogs=yes",
  "ProtectControlGroups=yes",
  "ProtectClock=yes",
  "ProtectHostname=yes",
  "RestrictSUIDSGID=yes",
  "RestrictRealtime=yes",
  "RestrictNamespaces=yes",
  "LockPersonality=yes",
  "SystemCallArchitectures=native",
  "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
  "# No MemoryDenyWriteExecute=: the JavaScript engine compiles code at run time.",
];

/** An ExecStart= argument: `%` doubled (systemd specifiers), quoted when it has other characters. */
function quote(arg: string): string {
  const escaped = arg.replace(/%/g, "%%");
  return /^[\w@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/(["\\$])/g, "\\$1")}"`;
}

export function serviceUnit(options: UnitOptions): string {
  return [
    "[Unit]",
    `Description=restload pipeline ${options.name}`,
    "Wants=network-online.target",
    "After=network-online.target",
    ...(options.onFailure ? [`OnFailure=${options.onFailure}`] : []),
    "",
    "[Service]",
    "Type=oneshot",
    `ExecStart=${[options.binary, "run", options.pipelineFile, "--lock-timeout", "120"].map(quote).join(" ")}`,
    ...options.secrets.map(
      (secret) => `LoadCredential=${secret}:${options.credentialsDir.replace(/\/$/, "").replace(/%/g, "%%")}/${secret}`,
    ),
    // ProtectSystem=strict leaves only the state directory writable: a database elsewhere needs its directory.
    ...(options.database.startsWith("/var/lib/restload/") ? [] : [`ReadWritePaths=${dirname(options.database).replace(/%/g, "%%")}`]),
    "# A run that hangs is stopped (SIGTERM rolls back what followed the open unit's last checkpoint); the timer starts the next one, which resumes from the committed checkpoints.",
    "TimeoutStartSec=2h",
    "TimeoutStopSec=60",
    "KillSignal=SIGTERM",
    ...hardening,
    "",
  ].join("\n");
}

export function timerUnit(options: UnitOptions): string {
  return [
    "[Unit]",
    `Description=Run restload pipeline ${options.name} (${options.onCalendar})`,
    "",
    "[Timer]",
    `OnCalendar=${options.onCalendar}`,
    "Persistent=true",
    "RandomizedDelaySec=120",
    `Unit=restload-${options.name}.service`,
    "",
    "[Install]",
    "WantedBy=timers.target",
    "",
  ].join("\n");
}

export function serveUnit(options: UnitOptions): string {
  const args = [
    options.binary,
    "serve",
    "--database",
    options.database,
    "--host",
    "127.0.0.1",
    "--port",
    String(options.servePort),
    ...(options.maxAge ? ["--max-age", options.maxAge] : []),
  ];
  return [
    "[Unit]",
    `Description=restload status page of ${options.name}`,
    "After=network.target",
    "",
    "[Service]",
    `ExecStart=${args.map(quote).join(" ")}`,
    "Restart=on-failure",
    ...hardening,
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}
