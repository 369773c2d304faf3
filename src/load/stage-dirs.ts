// Where runs stage their rows: `<database>.stage/<dataset>-<pid>/`, one folder per run, so
// pipelines writing other datasets of one file at the same time never touch each other's files.
import { readdirSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { processAlive } from "../util/process-alive.ts";

/** The staging folder of this process's run of `dataset`. */
export function runStageDir(database: string, dataset: string): string {
  return join(`${database}.stage`, `${dataset}-${process.pid}`);
}

/**
 * Removes the staging folders of runs whose process is gone (a killed run's files), and those of
 * versions that named them by load id; folders of live processes stay.
 */
export function removeDeadStageDirs(database: string): void {
  const root = `${database}.stage`;
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return; // No staging folder yet.
  }
  for (const name of names) {
    const pid = /-(\d+)$/.exec(name)?.[1];
    if (pid !== undefined && processAlive(Number(pid)) && Number(pid) !== process.pid) continue;
    rmSync(join(root, name), { recursive: true, force: true });
  }
}

/** Removes this run's staging folder, and `<database>.stage/` once no run uses it. */
export function removeRunStageDir(database: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  try {
    rmdirSync(`${database}.stage`);
  } catch {
    // Another run's folder is there, or it is gone already.
  }
}
