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
  /** A file the failure is about (database, pipeline, secrets file). */
  file?: string;
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
    return exitByCode[this.code];
  }
}

/** The message of anything thrown, without a stack. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
