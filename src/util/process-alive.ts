// Whether a process id names a live process on this machine (signal 0 probes without signalling).

/** True when `pid` is alive here (EPERM: alive, owned by another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
}
