// What the systemd tests share: systemd-analyze, the units `restload systemd` prints, scratch directories outside /tmp.
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { run } from "../helpers.ts";

/** The path of systemd-analyze; without it these tests fail saying so, instead of with a bare ENOENT. */
export function systemdAnalyze(): string {
  const path = Bun.which("systemd-analyze");
  if (path === null)
    throw new Error('systemd-analyze is not on PATH: these tests verify the generated units with it (Debian package "systemd")');
  return path;
}

/** The units `restload systemd` prints without --output, by file name. */
export function printedUnits(stdout: string): Map<string, string> {
  const units = new Map<string, string>();
  for (const section of stdout.split(/^# (?=restload-\S+\.(?:service|timer)\n)/m).slice(1)) {
    const newline = section.indexOf("\n");
    units.set(section.slice(0, newline), section.slice(newline + 1));
  }
  return units;
}

/** The "Overall exposure level" `systemd-analyze security --offline=true` gives a unit file (0 best, 10 worst). */
export async function exposureLevel(unitFile: string): Promise<{ level: number; report: string }> {
  const result = await run([systemdAnalyze(), "security", "--offline=true", unitFile]);
  const report = result.stdout + result.stderr;
  const match = /Overall exposure level for \S+: (\d+(?:\.\d+)?) /.exec(report);
  if (!match) throw new Error(`systemd-analyze security printed no exposure level (exit ${result.code}):\n${report}`);
  return { level: Number(match[1]), report };
}

const scratch: string[] = [];

/**
 * A fresh directory (mode 700) in /dev/shm, or in /tmp itself ($TMPDIR may be elsewhere), removed
 * by `removeScratch`. The path checks treat /tmp as hidden from the service, so a file it can read
 * must live elsewhere: /dev/shm is the one other directory every Linux machine lets anyone write.
 */
export function scratchDir(parent: "/dev/shm" | "/tmp"): string {
  const dir = mkdtempSync(join(parent, "restload-test-"));
  scratch.push(dir);
  return dir;
}

export function removeScratch(): void {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
}
