// One error type for every failure restload reports: a stable code, what went wrong, and what to do.

/** Exit codes of the CLI (sysexits-style where one exists). */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 64,
  locked: 75,
  config: 78,
  sigint: 130,
  sigterm: 143,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

const exitByCode = {
  E_USAGE: ExitCode.usage,
  E_CONFIG: ExitCode.config,
  E_TOML: ExitCode.config,
  E_SECRET: ExitCode.config,
  E_EXISTS: ExitCode.failed,
  E_LOCKED: ExitCode.locked,
  E_DB_PATH: ExitCode.failed,
  E_DB_INVALID: ExitCode.failed,
  E_DB_OPEN: ExitCode.failed,
  E_SQL: ExitCode.failed,
  E_BINDING: ExitCode.failed,
  E_IO: ExitCode.failed,
  E_HTTP: ExitCode.failed,
  E_RESPONSE: ExitCode.failed,
  E_ORIGIN: ExitCode.failed,
  E_PAGINATE: ExitCode.failed,
  E_AUTH: ExitCode.failed,
  E_CONTRACT: ExitCode.failed,
  E_NORMALIZE: ExitCode.failed,
  E_LOAD: ExitCode.failed,
  E_INTERRUPTED: ExitCode.sigterm,
  E_INCREMENTAL: ExitCode.failed,
  E_STEP: ExitCode.failed,
  // A record the API sent does not fit what the pipeline needs (a parent field a placeholder
  // reads is missing): the unit fails, the configuration itself is valid.
  E_DATA: ExitCode.failed,
  // A failure restload has no code for (a bug, or an error of a library it does not expect).
  E_INTERNAL: ExitCode.failed,
} as const;

/** Stable identifiers of every failure; scripts and tests match on these, never on message text. */
export type ErrorCode = keyof typeof exitByCode;

export interface ErrorContext {
  /** The pipeline resource the failure belongs to. */
  resource?: string;
  /** A URL with its secrets already redacted. */
  url?: string;
  /** A TOML path such as `resources[1].endpoint.path`. */
  tomlPath?: string;
  /** A file or folder the failure is about (database, pipeline, secrets file, export folder). */
  file?: string;
  /** The signal that stopped the command (E_INTERRUPTED): SIGINT exits 130, SIGTERM 143. */
  signal?: "SIGINT" | "SIGTERM";
}

/** One problem of several found in one pass, e.g. a config key: `resources[1].endpoint.path`. */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

/**
 * A failure with a stable `code`, a message saying what happened, and a `hint` saying what to do.
 *
 * @example
 * throw new RestloadError("E_LOCKED", `Cannot open "${path}" as another process holds it`, {
 *   hint: "Wait for that process to finish or raise --lock-timeout.",
 *   context: { file: path },
 * });
 */
export class RestloadError extends Error {
  override readonly name = "RestloadError";
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly context: ErrorContext;
  /** Every problem found, when the failure gathers several (all config errors in one pass). */
  readonly problems: readonly Problem[];

  constructor(
    code: ErrorCode,
    message: string,
    options: { hint?: string; context?: ErrorContext; cause?: unknown; problems?: readonly Problem[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.context = options.context ?? {};
    this.problems = options.problems ?? [];
  }

  get exitCode(): ExitCode {
    if (this.code === "E_INTERRUPTED") return interruptedExitCode(this.context.signal);
    return exitByCode[this.code];
  }
}

/** The signal an abort reason names: main.ts aborts with "SIGINT" or "SIGTERM"; anything else counts as SIGTERM. */
export function stopSignal(reason: unknown): "SIGINT" | "SIGTERM" {
  return reason === "SIGINT" ? "SIGINT" : "SIGTERM";
}

/** The exit code of a command stopped by a signal: 130 for SIGINT, 143 for SIGTERM. */
export function interruptedExitCode(reason: unknown): ExitCode {
  return stopSignal(reason) === "SIGINT" ? ExitCode.sigint : ExitCode.sigterm;
}

/** A failure as data, the one shape `--json`, JSON log events and `_rl_*.error_data` carry. */
export interface ErrorData {
  readonly code: ErrorCode;
  readonly message: string;
  readonly hint: string | null;
  /** Only the keys that are known: `{ "resource": "issues", "url": "https://…" }`. */
  readonly context: ErrorContext;
  readonly problems: readonly Problem[];
  readonly exit_code: ExitCode;
}

/**
 * Any thrown value as ErrorData, every text passed through `redact` (secret values masked), so
 * the object may be printed, logged or stored as it is. Something that is not a RestloadError is
 * E_INTERNAL with its own message.
 *
 * @example
 * errorData(new RestloadError("E_HTTP", "Cannot fetch page 1 …", { context: { resource: "issues" } }), redactor.redact)
 * // { code: "E_HTTP", message: "Cannot fetch page 1 …", hint: null, context: { resource: "issues" }, problems: [], exit_code: 1 }
 */
export function errorData(error: unknown, redact: (text: string) => string = (text) => text): ErrorData {
  const known = error instanceof RestloadError ? error : undefined;
  const context: ErrorContext = {};
  for (const [key, value] of Object.entries(known?.context ?? {}) as [keyof ErrorContext, string | undefined][]) {
    if (value !== undefined) Object.assign(context, { [key]: redact(value) });
  }
  return {
    code: known?.code ?? "E_INTERNAL",
    message: redact(messageOf(error)),
    hint: known?.hint === undefined ? null : redact(known.hint),
    context,
    problems: (known?.problems ?? []).map((problem) => ({ path: problem.path, message: redact(problem.message) })),
    exit_code: known?.exitCode ?? ExitCode.failed,
  };
}

/** `E_HTTP: Cannot fetch page 2 …`: the one-line form stored in `_rl_loads.error` and the status file. */
export function errorLine(data: Pick<ErrorData, "code" | "message">): string {
  return `${data.code}: ${data.message}`;
}

/** The message of anything thrown, without a stack. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
