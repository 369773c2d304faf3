// Entrypoint: wires the process to the CLI and is the only place that exits.
import { main } from "./cli/main.ts";
import { type CrashPointHook, isCrashPoint } from "./run/crash-points.ts";

function writer(stream: NodeJS.WriteStream): (text: string) => Promise<void> {
  return (text) => new Promise((done, fail) => stream.write(text, (error) => (error ? fail(error) : done())));
}

// A failed write (EPIPE: the reader of `| head` went away) reaches the command through write()'s
// callback; without a listener the stream's "error" event would also crash the process (Deno).
process.stdout.on("error", () => {});

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

// SIGTERM / SIGINT: the command stops requesting, rolls back its open unit, records the run as
// interrupted and returns 143 / 130. A second signal ends the process at once; DuckDB discards
// the uncommitted transaction on the next open.
const interrupt = new AbortController();
for (const [signal, code] of [
  ["SIGTERM", 143],
  ["SIGINT", 130],
] as const) {
  process.on(signal, () => {
    if (interrupt.signal.aborted) process.exit(code);
    interrupt.abort(signal);
  });
}

// Tests of run atomicity: RESTLOAD_CRASH_AT="<point>:<unit>" (e.g. "page_2:items", "before_commit:items")
// kills this process with SIGKILL at that point, as a power cut would. Unset, runs get no hook.
const crashAt = process.env.RESTLOAD_CRASH_AT;
const onCrashPoint: CrashPointHook | undefined =
  crashAt === undefined
    ? undefined
    : (point, unit) => {
        if (isCrashPoint(crashAt, point, unit)) process.kill(process.pid, "SIGKILL");
      };

function readLine(): Promise<string> {
  return new Promise((done) => {
    let text = "";
    const onData = (chunk: Buffer) => {
      text += chunk.toString("utf8");
      if (text.includes("\n")) finish();
    };
    const finish = () => {
      process.stdin.off("data", onData);
      process.stdin.off("end", finish);
      process.stdin.pause();
      done(text.split("\n")[0] ?? "");
    };
    process.stdin.on("data", onData);
    process.stdin.on("end", finish);
  });
}

const code = await main(process.argv.slice(2), {
  stdout: writer(process.stdout),
  stderr: writer(process.stderr),
  readStdin,
  readLine,
  stdinIsTerminal: process.stdin.isTTY === true,
  stderrIsTerminal: process.stderr.isTTY === true,
  env: process.env,
  signal: interrupt.signal,
  onCrashPoint,
});
process.exit(code);
