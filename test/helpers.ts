// Shared test helpers: temp directories, running the CLI from source, building the binary once.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const repoRoot = resolve(import.meta.dir, "..");
export const bunBin = join(repoRoot, "node_modules", ".bin", "bun");
export const denoBin = join(repoRoot, "node_modules", ".bin", "deno");
export const mainTs = join(repoRoot, "src", "main.ts");

const made: string[] = [];

/** Removes every directory tempDir made (test/setup.ts calls it once all tests are done). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh temp directory, removed once all tests are done. */
export function tempDir(prefix = "restload-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  stdin?: string;
}

/** Runs a command to completion and captures its output. */
export async function run(cmd: readonly string[], options: RunOptions = {}): Promise<Ran> {
  const proc = Bun.spawn([...cmd], {
    cwd: options.cwd ?? repoRoot,
    env: (options.env ?? process.env) as Record<string, string>,
    stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

/** `restload <args>` from the TypeScript sources on Bun. */
export function restload(args: readonly string[], options: RunOptions = {}): Promise<Ran> {
  return run([bunBin, mainTs, ...args], options);
}

let built: Promise<string> | undefined;

/** Path of a freshly compiled binary, built once per test process into a temp directory. */
export function compiledBinary(): Promise<string> {
  built ??= (async () => {
    const dir = tempDir("restload-build-");
    const outfile = join(dir, "restload");
    const result = await run([bunBin, join(repoRoot, "scripts", "build.ts"), "--outfile", outfile]);
    if (result.code !== 0) throw new Error(`build failed (${result.code}):\n${result.stdout}${result.stderr}`);
    return outfile;
  })();
  return built;
}

/** Runs the CLI in this process (no spawn): fast, for the config corpus and the like. */
export async function runMain(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  const { main } = await import("../src/cli/main.ts");
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    stdout: async (text) => void (stdout += text),
    stderr: async (text) => void (stderr += text),
    readStdin: async () => "",
    readLine: async () => "",
    stdinIsTerminal: true,
    env,
  });
  return { code, stdout, stderr };
}

/** The base URL a `restload serve` process prints once it listens (`serving http://…`). */
export async function servingUrl(proc: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> }): Promise<string> {
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve exited: ${await new Response(proc.stderr).text()}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return /serving (\S+)/.exec(text)![1]!;
}

/** A secret as it could leak: itself, percent-encoded, form-encoded, base64, and inside basic auth's base64. */
export function leakForms(secret: string): string[] {
  return [
    secret,
    encodeURIComponent(secret),
    new URLSearchParams({ x: secret }).toString().slice(2),
    Buffer.from(secret).toString("base64"),
    Buffer.from(`user:${secret}`).toString("base64"),
  ];
}
