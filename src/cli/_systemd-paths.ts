// Which files the generated units' service cannot reach under their sandbox: why, and what to do.
import { type Stats, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { sandbox, serviceUser } from "./_systemd-units.ts";

/** A file or directory the service needs: `database` is the database's directory. */
export interface ServicePath {
  readonly role: "binary" | "pipeline" | "module" | "database" | "export" | "credentials";
  /** Absolute. */
  readonly path: string;
}

export interface PathFinding {
  /** `refuse`: the service certainly cannot use the path; `warn`: it likely cannot, or not for long. */
  readonly severity: "refuse" | "warn";
  readonly path: string;
  /** What the path is, why the service cannot reach it, and what to do; without the path itself. */
  readonly message: string;
}

/**
 * Checks each path against the units' sandbox (PrivateTmp=, ProtectHome=, RemoveIPC=) and, for what
 * the service reads or writes itself, the permissions its user gets: DynamicUser= allocates a user
 * that owns none of them, so only the bits for others count, unless a static user of that name
 * exists (DynamicUser= then runs as it).
 *
 * @example
 * checkServicePaths([{ role: "pipeline", path: "/tmp/p.toml" }])
 * // [{ severity: "refuse", path: "/tmp/p.toml", message: "the pipeline file is under /tmp, which PrivateTmp= …" }]
 */
export function checkServicePaths(paths: readonly ServicePath[]): PathFinding[] {
  const user = staticUser();
  const findings: PathFinding[] = [];
  for (const item of paths) {
    for (const finding of checkPath(item, user)) {
      if (!findings.some((seen) => seen.path === finding.path && seen.message === finding.message)) findings.push(finding);
    }
  }
  return findings;
}

/** Absolute paths of every `{ module = … }` file in a resolved pipeline (relative to its directory). */
export function modulePaths(config: unknown, pipelineDir: string): string[] {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) walk(item);
    else if (value !== null && typeof value === "object") {
      const record = value as Record<string, unknown>;
      if (typeof record.module === "string" && typeof record.export === "string") {
        found.add(isAbsolute(record.module) ? record.module : resolve(pipelineDir, record.module));
      }
      for (const item of Object.values(record)) walk(item);
    }
  };
  walk(config);
  return [...found];
}

// internal

/** The static user DynamicUser= would run as, if the machine has one named like ours. */
interface StaticUser {
  readonly uid: number;
  readonly gid: number;
}

const what = {
  binary: "the restload binary",
  pipeline: "the pipeline file",
  module: "the module file the pipeline loads",
  database: "the database directory",
  export: "the export folder",
  credentials: "the credentials directory",
} as const;

/** What to do about a path of this role, as the end of a message. */
function remedy(item: ServicePath): string {
  const name = basename(item.path);
  switch (item.role) {
    case "binary":
      return `install it where the service can run it (install -m 755 ${item.path} /usr/local/bin/restload) and pass --binary /usr/local/bin/restload`;
    case "pipeline":
      return `move it to /etc/restload (install -D -m 644 ${item.path} /etc/restload/${name}) and run restload systemd /etc/restload/${name}`;
    case "module":
      return "keep it with the pipeline in /etc/restload (module paths are relative to the pipeline file)";
    case "database":
      return `set pipeline.database to a relative path: the units then keep it in ${sandbox.stateDirectory}, which systemd creates for the service`;
    case "export":
      return "choose a folder the service's user can write (and other users read: the lake is for them)";
    case "credentials":
      return "keep the credentials in /etc/restload/credentials (install -d -m 700 /etc/restload/credentials)";
  }
}

function checkPath(item: ServicePath, user: StaticUser | null): PathFinding[] {
  let real = item.path;
  try {
    real = realpathSync(item.path);
  } catch {
    // Missing: reported below.
  }
  const located = [item.path, ...(real === item.path ? [] : [real])].flatMap((candidate) => locate(item, candidate));
  // Under a hidden directory, what the permissions would allow does not matter; credentials are read by the service manager.
  if (located.some((finding) => finding.severity === "refuse") || item.role === "credentials") return located;
  return [...located, ...checkAccess(item, user)];
}

/** Whether the service's user can traverse to the path and read, run or write it as it needs. */
function checkAccess(item: ServicePath, user: StaticUser | null): PathFinding[] {
  const stats = statOrNull(item.path);
  if (stats === null) return [missing(item)];
  const who = user ? `user ${serviceUser} (uid ${user.uid})` : "the service's dynamic user, which gets only the permissions for others,";
  const ancestors = ancestorsOf(writable(item) ? item.path : dirname(item.path));
  for (const dir of ancestors) {
    const dirStats = statOrNull(dir);
    if (dirStats !== null && !allows(dirStats, user, 0o1)) {
      return [
        refuse(
          item,
          `${who} cannot reach ${what[item.role]}: ${dir} (${describeMode(dirStats)}) does not let it search the directory (x); chmod o+x ${dir}, or ${remedy(item)}`,
        ),
      ];
    }
  }
  if (writable(item)) {
    if (allows(stats, user, 0o3)) return [];
    const writes = item.role === "database" ? "create the database, its WAL and lock files in" : "write Parquet files in";
    return [
      refuse(
        item,
        `${who} cannot ${writes} ${what[item.role]} (${describeMode(stats)}); ${remedy(item)}, or create a system user ${serviceUser} (useradd --system ${serviceUser}; DynamicUser= then runs as it) and chown ${serviceUser}: ${item.path}`,
      ),
    ];
  }
  const needs = item.role === "binary" ? { bits: 0o5, letters: "r and x", chmod: "755" } : { bits: 0o4, letters: "r", chmod: "644" };
  if (allows(stats, user, needs.bits)) return [];
  return [
    refuse(
      item,
      `${who} cannot ${item.role === "binary" ? "run" : "read"} ${what[item.role]} (${describeMode(stats)}, needs ${needs.letters}); chmod ${needs.chmod} ${item.path}, or ${remedy(item)}`,
    ),
  ];
}

/** Findings for a path inside a directory the sandbox hides or empties. */
function locate(item: ServicePath, candidate: string): PathFinding[] {
  const shown = candidate === item.path ? `${what[item.role]} is` : `${what[item.role]} links to ${candidate}, which is`;
  const temp = sandbox.privateTmp.find((dir) => within(candidate, dir));
  const home = sandbox.protectHome.find((dir) => within(candidate, dir));
  const shm = sandbox.removedIpc.find((dir) => within(candidate, dir));
  if (item.role === "credentials") {
    // LoadCredential= files are read by the service manager, which hands the service copies: the sandbox does not hide them, but these places do not keep them.
    if (temp || shm)
      return [warn(item, `${shown} under ${temp ?? shm}, whose files are cleaned up and gone after a reboot; ${remedy(item)}`)];
    if (home) return [warn(item, `${shown} under ${home}, a person's files rather than the system's; ${remedy(item)}`)];
    return [];
  }
  if (temp)
    return [refuse(item, `${shown} under ${temp}, which PrivateTmp= replaces with an empty directory for the service; ${remedy(item)}`)];
  if (home) return [refuse(item, `${shown} under ${home}, which ProtectHome= makes inaccessible to the service; ${remedy(item)}`)];
  if (shm && writable(item)) {
    return [refuse(item, `${shown} under ${shm}, where RemoveIPC= deletes the service user's files when each run ends; ${remedy(item)}`)];
  }
  if (shm) {
    return [
      warn(
        item,
        `${shown} under ${shm}, a memory file system emptied at every reboot, and PrivateDevices= gives the service its own /dev; ${remedy(item)}`,
      ),
    ];
  }
  return [];
}

function missing(item: ServicePath): PathFinding {
  switch (item.role) {
    case "database":
    case "export":
      return warn(
        item,
        `${what[item.role]} does not exist: ReadWritePaths= keeps the service from starting until it does, and the service's user must be able to write it; ${remedy(item)}`,
      );
    case "binary":
      return warn(
        item,
        `${what.binary} does not exist here: the service cannot start until it does; install the compiled binary there (npm run build, then install -m 755 dist/restload ${item.path})`,
      );
    default:
      return warn(item, `${what[item.role]} does not exist: a run fails when it needs it; ${remedy(item)}`);
  }
}

/** The directories the service writes (ReadWritePaths=): it must reach and write them, not only read. */
function writable(item: ServicePath): boolean {
  return item.role === "database" || item.role === "export";
}

function refuse(item: ServicePath, message: string): PathFinding {
  return { severity: "refuse", path: item.path, message };
}

function warn(item: ServicePath, message: string): PathFinding {
  return { severity: "warn", path: item.path, message };
}

/** Whether `path` is `dir` or inside it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** `/a/b/c` -> `/`, `/a`, `/a/b`, `/a/b/c`. */
function ancestorsOf(dir: string): string[] {
  const parts = dir.split("/").filter((part) => part !== "");
  return ["/", ...parts.map((_, index) => `/${parts.slice(0, index + 1).join("/")}`)];
}

/** Whether the service's user gets every permission bit in `bits` (r = 4, w = 2, x = 1). */
function allows(stats: Stats, user: StaticUser | null, bits: number): boolean {
  const shift = user && stats.uid === user.uid ? 6 : user && stats.gid === user.gid ? 3 : 0;
  return ((stats.mode >> shift) & bits) === bits;
}

function describeMode(stats: Stats): string {
  return `mode ${(stats.mode & 0o7777).toString(8).padStart(4, "0")}, owner ${userName(stats.uid) ?? `uid ${stats.uid}`}`;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function passwd(): string[] {
  try {
    return readFileSync("/etc/passwd", "utf8").split("\n");
  } catch {
    return [];
  }
}

function staticUser(): StaticUser | null {
  const fields = passwd()
    .find((line) => line.startsWith(`${serviceUser}:`))
    ?.split(":");
  if (!fields || fields.length < 4) return null;
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

function userName(uid: number): string | undefined {
  return passwd()
    .map((line) => line.split(":"))
    .find((fields) => fields[2] === String(uid))?.[0];
}
