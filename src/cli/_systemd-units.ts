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
  /** The pipeline's `[export] dir`, written after each run; null when none. */
  readonly exportDir: string | null;
  readonly onFailure: string | null;
  readonly servePort: number;
  readonly maxAge: string | null;
}

/** User= shared by every restload unit, so DynamicUser= gives them one stable identity and directory. */
export const serviceUser = "restload";

/** What the sandbox below hides from the service or gives it; the path checks of `restload systemd` read these. */
export const sandbox = {
  /** StateDirectory=restload: created for the service's user; a relative database goes here. */
  stateDirectory: "/var/lib/restload",
  /** PrivateTmp=yes: the service gets its own empty ones, removed when it stops. */
  privateTmp: ["/tmp", "/var/tmp"],
  /** ProtectHome=yes: inaccessible and empty for the service. */
  protectHome: ["/home", "/root", "/run/user"],
  /** RemoveIPC= (implied by DynamicUser=) removes the service user's files here when it stops; PrivateDevices= mounts a new /dev. */
  removedIpc: ["/dev/shm"],
} as const;

/**
 * Exposure 1.1 in `systemd-analyze security --offline=true` (5.1 without CapabilityBoundingSet=,
 * PrivateUsers=, ProtectProc=, ProcSubset=, SystemCallFilter= and the like). What is left: network
 * access (the job is HTTP), AF_UNIX (glibc's host lookups ask nscd/resolved through it), the JIT's
 * W+X memory, the RTC that ProtectClock= leaves readable, no RootDirectory=.
 */
const hardening = [
  "DynamicUser=yes",
  `User=${serviceUser}`,
  `Group=${serviceUser}`,
  "StateDirectory=restload",
  "CacheDirectory=restload",
  "UMask=0077",
  "NoNewPrivileges=yes",
  "CapabilityBoundingSet=",
  "AmbientCapabilities=",
  "PrivateUsers=yes",
  "ProtectSystem=strict",
  "ProtectHome=yes",
  "PrivateTmp=yes",
  "PrivateDevices=yes",
  "DevicePolicy=closed",
  "PrivateMounts=yes",
  "ProtectProc=invisible",
  "ProcSubset=pid",
  "ProtectKernelTunables=yes",
  "ProtectKernelModules=yes",
  "ProtectKernelLogs=yes",
  "ProtectControlGroups=yes",
  "ProtectClock=yes",
  "ProtectHostname=yes",
  "RestrictSUIDSGID=yes",
  "RestrictRealtime=yes",
  "RestrictNamespaces=yes",
  "RemoveIPC=yes",
  "LockPersonality=yes",
  "SystemCallArchitectures=native",
  "# A run and the status page make only system calls of @system-service, none of @privileged or @resources.",
  "SystemCallFilter=@system-service",
  "SystemCallFilter=~@privileged @resources",
  "SystemCallErrorNumber=EPERM",
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
    // ProtectSystem=strict leaves only the state directory writable: a database or export folder elsewhere needs its own.
    ...writableOutsideState(options).map(({ path }) => `ReadWritePaths=${path.replace(/%/g, "%%")}`),
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

/** Whether `path` lies in StateDirectory= (which systemd creates, and DynamicUser= keeps readable by root only). */
export function inStateDirectory(path: string): boolean {
  return path === sandbox.stateDirectory || path.startsWith(`${sandbox.stateDirectory}/`);
}

/** The directories a run writes outside StateDirectory= (each needs ReadWritePaths=): the database's, the export folder. */
export function writableOutsideState(
  options: Pick<UnitOptions, "database" | "exportDir">,
): { readonly role: "database" | "export"; readonly path: string }[] {
  return [
    ...(inStateDirectory(options.database) ? [] : [{ role: "database", path: dirname(options.database) } as const]),
    ...(options.exportDir === null || inStateDirectory(options.exportDir) ? [] : [{ role: "export", path: options.exportDir } as const]),
  ];
}
