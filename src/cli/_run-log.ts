// The log of `restload run` on stderr, sized for journald: run and unit starts and ends,
// checkpoints, schema changes, retries, warnings and errors, and per active resource a progress
// line every --progress-interval; pages only at --log-level debug; the export after the run
// (`[export] dir`); `run_finished` last, at every level. On a terminal (text) the progress is one
// live line instead, redrawn at most four times a second.
import { ExitCode, errorData } from "../errors.ts";
import type { RunEvent } from "../run/index.ts";
import { toJson } from "../util/json.ts";
import type { Io } from "./_io.ts";
import type { RunExport } from "./_run-export.ts";
import { LiveLine } from "./_live-line.ts";
import {
  type LineContext,
  type LogLevel,
  type LogLine,
  type RunEnd,
  eventLine,
  exportEndedLine,
  exportStartedLine,
  logLevels,
  progressLine,
  progressText,
  runFailedLine,
  runFinishedLine,
} from "./_run-log-lines.ts";
import { UnitProgress } from "./_run-progress.ts";
import { RunTally } from "./_run-tally.ts";

export interface RunLogOptions {
  readonly format: "text" | "json";
  /** The least severe level written. */
  readonly level: LogLevel;
  /** Between two progress lines of a resource (off a terminal, or in JSON). */
  readonly progressIntervalMs: number;
  /** The run is a dry run: its units "would load", nothing is rolled back. */
  readonly dryRun: boolean;
}

/** journald reads a line's priority from this prefix when JOURNAL_STREAM is set. */
const journalPrefix: Record<LogLevel, string> = { error: "<3>", warn: "<4>", info: "<6>", debug: "<7>" };
const colors: Partial<Record<LogLevel, string>> = { error: "\x1b[31m", warn: "\x1b[33m" };

/**
 * Writes a run's events as log lines. `onEvent` takes every event of the run (the first,
 * `run_started`, names the run for every later line) and `countRequests` wraps the fetch the run
 * is given; `finished` or `failed` writes the last line, `run_finished`; `close` stops the timers.
 */
export class RunLog {
  private io: Io;
  private runId: string | null = null;
  private startedMs = Date.now();
  /** `run_finished` is written: nothing follows it. */
  private ended = false;
  private readonly tally = new RunTally();
  private readonly context: LineContext;
  private readonly rank: number;
  private readonly journal: boolean;
  private readonly color: boolean;
  private readonly progress = new UnitProgress();
  private readonly live: LiveLine | undefined;
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private written: Promise<void> = Promise.resolve();

  constructor(
    io: Io,
    private readonly options: RunLogOptions,
  ) {
    this.io = io;
    this.context = { dryRun: options.dryRun };
    this.rank = logLevels.indexOf(options.level);
    this.journal = io.env.JOURNAL_STREAM !== undefined;
    // A terminal that cannot erase a line (TERM=dumb) gets log lines, as a pipe does.
    const terminal = options.format === "text" && io.stderrIsTerminal === true && !this.journal && io.env.TERM !== "dumb";
    this.color = terminal && !io.env.NO_COLOR;
    if (!this.shows("info")) return;
    if (terminal) {
      this.live = new LiveLine(
        () => this.liveText(),
        (text) => this.output(text),
      );
      return;
    }
    this.timer = setInterval(() => {
      for (const resource of this.progress.sinceLastLine()) this.write(progressLine(resource));
    }, options.progressIntervalMs);
    // The timer never keeps the process alive on its own.
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** From here on, lines go through `io` (the one that masks the pipeline's secrets). */
  useIo(io: Io): void {
    this.io = io;
  }

  /** Whether `run_finished` is written (by `finished` or `failed`). */
  get hasEnded(): boolean {
    return this.ended;
  }

  /** The fetch a run is given (the global one when undefined), its requests counted for `failed`. */
  countRequests(fetch: typeof globalThis.fetch | undefined): typeof globalThis.fetch {
    return this.tally.counting(fetch);
  }

  /** Takes every event of the run (`RunOptions.onEvent`). */
  readonly onEvent = (event: RunEvent): void => {
    this.tally.count(event);
    switch (event.type) {
      case "run_started":
        this.runId = event.run_id;
        // The run's duration counts from here, as its summary's does.
        this.startedMs = Date.now();
        break;
      case "unit_started":
        this.progress.start(event.unit);
        break;
      case "page":
        this.progress.page(event.resource, event.records);
        this.live?.changed();
        break;
    }
    this.write(eventLine(event, this.context));
    if (event.type === "unit_committed" || event.type === "unit_failed") this.progress.end();
  };

  /** The export after the run (`[export] dir`) starts: `export_started`, naming the dataset's export folder. */
  exportStarted(dir: string): void {
    this.write(exportStartedLine(dir));
  }

  /** The export after the run ended: `export_finished`, or `export_failed` with its error. */
  exportEnded(exported: RunExport): void {
    this.write(exportEndedLine(exported));
  }

  /**
   * The run returned its summary: `run_finished` with its figures, written once everything before
   * it is. `end` may say more than the summary: the command's exit code after a failed export.
   */
  async finished(end: RunEnd): Promise<void> {
    this.end(runFinishedLine(this.runId, end, this.context));
    await this.flushed();
  }

  /**
   * What ended the command before its run could return a summary (the pipeline file, a secret,
   * the lock, recording the run's end): `run_failed` with the error as data, then `run_finished`
   * with what the run had done by then (rows committed, requests, retries). Returns the exit code.
   */
  async failed(error: unknown): Promise<number> {
    const data = errorData(error);
    this.write(runFailedLine(data));
    const interrupted = data.exit_code === ExitCode.sigint || data.exit_code === ExitCode.sigterm;
    this.end(
      runFinishedLine(
        this.runId,
        {
          status: interrupted ? "interrupted" : "failed",
          exit_code: data.exit_code,
          ...this.tally.figures(),
          duration_ms: Date.now() - this.startedMs,
        },
        this.context,
      ),
    );
    await this.flushed();
    return data.exit_code;
  }

  /** Stops the progress timer and the live line; the run is over. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.live?.stop();
  }

  // internal

  private shows(level: LogLevel): boolean {
    return logLevels.indexOf(level) <= this.rank;
  }

  private write(line: LogLine): void {
    if (this.shows(line.level) && !this.ended) this.emit(line);
  }

  /** `run_finished`: the run's outcome, written whatever --log-level says, and only once. */
  private end(line: LogLine): void {
    if (this.ended) return;
    this.ended = true;
    this.emit(line);
  }

  private emit(line: LogLine): void {
    // The live line's last state stays above the line that interrupts it.
    const before = this.live?.settle() ?? "";
    if (this.options.format === "json") {
      const { event, level, fields } = line;
      this.output(`${before}${toJson({ time: new Date().toISOString(), level, event, run_id: this.runId, ...fields })}\n`);
      return;
    }
    const prefix = this.journal ? journalPrefix[line.level] : "";
    const color = this.color ? colors[line.level] : undefined;
    const lines = line.text
      .replace(/\n$/, "")
      .split("\n")
      .map((text) => `${prefix}${color === undefined ? text : `${color}${text}\x1b[0m`}\n`)
      .join("");
    this.output(`${before}${lines}`);
  }

  private liveText(): string | undefined {
    const resources = this.progress.snapshot();
    if (resources.length === 0) return undefined;
    return `unit ${resources[0]!.unit}: ${resources.map(progressText).join(" · ")}`;
  }

  /** Writes go out in order; a failed write (stderr closed) does not stop the run. */
  private output(text: string): void {
    this.written = this.io.stderr(text).catch(() => {});
  }

  private flushed(): Promise<void> {
    return this.written;
  }
}
