// Launches a headless Chromium for the browser tests, from the npm package when the machine has none.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium, type LaunchOptions } from "playwright-core";
import { bunBin, repoRoot, run } from "../helpers.ts";

const packageDir = join(repoRoot, "node_modules", "@sparticuz", "chromium");
// Beside node_modules so the unpacked browser is owned by whoever installed the packages (a shared
// temp folder would let another user plant a binary there), and goes away with them.
const cacheRoot = join(repoRoot, "node_modules", ".cache");
// A system Chromium spends its start trying hosts a closed network cannot reach unless told not to
// (Playwright adds some of these itself; repeating them keeps that true whatever its defaults become).
const systemArgs = [
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];
// Generous for a loaded machine, short enough that a hanging candidate leaves time for the next.
const launchTimeout = 30_000;

interface Candidate {
  label: string;
  /** Launch options, or why this candidate cannot be used. */
  options: () => Promise<LaunchOptions | string>;
}

/**
 * A launched headless Chromium: `$CHROMIUM_PATH` if set (and then only that); else Playwright's own
 * download, a `chromium` / `chromium-browser` / `google-chrome` on PATH, then `@sparticuz/chromium`.
 * Throws, naming everything tried, when none launches: the browser tests must never skip.
 */
export async function launchChromium(): Promise<Browser> {
  const override = process.env["CHROMIUM_PATH"];
  const candidates: Candidate[] =
    override !== undefined && override !== ""
      ? [
          {
            label: `$CHROMIUM_PATH (${override})`,
            options: async () => (isExecutable(override) ? { executablePath: override, args: systemArgs } : "not an executable file"),
          },
        ]
      : [
          {
            label: "Playwright's browser",
            options: async () => {
              const path = chromium.executablePath();
              return existsSync(path) ? { executablePath: path } : `${path} does not exist`;
            },
          },
          ...["chromium", "chromium-browser", "google-chrome"].map(
            (name): Candidate => ({
              label: `${name} on PATH`,
              options: async () => {
                const path = Bun.which(name);
                return path === null ? "not found" : { executablePath: path, args: systemArgs };
              },
            }),
          ),
          { label: `@sparticuz/chromium ${sparticuzVersion()}`, options: sparticuzOptions },
        ];
  const tried: string[] = [];
  for (const candidate of candidates) {
    try {
      const options = await candidate.options();
      if (typeof options === "string") {
        tried.push(`${candidate.label}: ${options}`);
        continue;
      }
      return await chromium.launch({ headless: true, timeout: launchTimeout, ...options });
    } catch (error) {
      tried.push(`${candidate.label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(
    `No Chromium could be launched for the browser tests. Tried:\n- ${tried.join("\n- ")}\nSet CHROMIUM_PATH to a Chromium binary, or run npm install to get @sparticuz/chromium.`,
  );
}

function sparticuzVersion(): string {
  return (JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { version: string }).version;
}

function isExecutable(path: string): boolean {
  try {
    const stat = statSync(path);
    return stat.isFile() && stat.size > 0 && (stat.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/**
 * Launch options for the package's Chromium, unpacked once into a cache directory. The package's own
 * `executablePath()` unpacks into the temp folder in place: two processes at once fail with ETXTBSY,
 * and one killed mid-way leaves a truncated binary that later calls take for complete. So a child
 * process runs it with TMPDIR set to a private directory, the result is checked, and only then is
 * the directory renamed to the cache path: the cache holds a complete browser or nothing.
 */
async function sparticuzOptions(): Promise<LaunchOptions | string> {
  if (!existsSync(join(packageDir, "package.json"))) return `${packageDir} is missing (npm install installs it)`;
  const name = `restload-chromium-${sparticuzVersion()}`;
  const cache = join(cacheRoot, name);
  mkdirSync(cacheRoot, { recursive: true });
  removeAbandoned(name);
  if (existsSync(cache) && unpackProblem(cache) !== undefined) {
    // Out of the way in one step, so no other process sees a half-removed directory.
    const aside = join(cacheRoot, `.${name}-broken-${process.pid}-${Date.now()}`);
    renameSync(cache, aside);
    rmSync(aside, { recursive: true, force: true });
  }
  if (!existsSync(cache)) {
    const started = performance.now();
    const work = join(cacheRoot, `.${name}-unpacking-${process.pid}-${Date.now()}`);
    mkdirSync(work);
    try {
      const script =
        'const { default: chromium } = await import("@sparticuz/chromium"); process.stdout.write(await chromium.executablePath());';
      const unpacked = await run([bunBin, "-e", script], { cwd: repoRoot, env: { ...process.env, TMPDIR: work } });
      if (unpacked.code !== 0) return `unpacking failed (exit ${unpacked.code}): ${unpacked.stderr.trim()}`;
      if (unpacked.stdout !== join(work, "chromium")) return `the package unpacked to ${unpacked.stdout}, not to ${work}`;
      const problem = unpackProblem(work);
      if (problem !== undefined) return `unpacked Chromium is incomplete: ${problem}`;
      const version = await run([join(work, "chromium"), "--version"]);
      if (version.code !== 0 || !version.stdout.startsWith("Chromium "))
        return `unpacked Chromium does not run: ${version.stdout}${version.stderr}`;
      try {
        renameSync(work, cache);
        console.log(
          `Unpacked ${version.stdout.trim()} from @sparticuz/chromium into ${cache} in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        );
      } catch (error) {
        // Another process renamed its complete copy first: use that one.
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  const options: LaunchOptions = { executablePath: join(cache, "chromium") };
  // On Amazon Linux 2023 the package also unpacks libraries the binary needs and points
  // LD_LIBRARY_PATH at them in its own process; the browser must get that too.
  const libraries = join(cache, "al2023", "lib");
  if (existsSync(libraries)) {
    const inherited = process.env["LD_LIBRARY_PATH"];
    options.env = { ...process.env, LD_LIBRARY_PATH: inherited ? `${libraries}:${inherited}` : libraries };
  }
  return options;
}

/** Why an unpacked directory is not a usable browser, or undefined when it is. */
function unpackProblem(dir: string): string | undefined {
  if (!isExecutable(join(dir, "chromium"))) return `${join(dir, "chromium")} is missing, empty or not executable`;
  // SwiftShader's GL libraries are loaded from beside the binary.
  for (const library of ["libEGL.so", "libGLESv2.so"]) {
    const path = join(dir, library);
    if (!existsSync(path) || statSync(path).size === 0) return `${path} is missing or empty`;
  }
  return undefined;
}

/** Removes unpacking directories left by processes that were killed (each holds up to ~200 MB). */
function removeAbandoned(name: string): void {
  const prefix = `.${name}-unpacking-`;
  for (const entry of readdirSync(cacheRoot)) {
    if (!entry.startsWith(prefix)) continue;
    const pid = Number(entry.slice(prefix.length).split("-")[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) rmSync(join(cacheRoot, entry), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
