/** The stable codes of thrown errors (`PreloadError.code`). */
export type ErrorCode =
  | 'ERR_INVALID_OPTION'
  | 'ERR_CONFIGURATION'
  | 'ERR_NOT_ENTITLED'
  | 'ERR_INTEGRITY'
  | 'ERR_ABORTED'
  | 'ERR_UNREACHABLE'
  | 'ERR_LIST'
  | 'ERR_STORE'
  | 'ERR_WORKER'
  | 'ERR_ACTIONS'
  | 'ERR_BUSY'
  | 'ERR_UNEXPECTED';

/**
 * Base class of every error this library throws. Branch on `code`, never on the message.
 */
export class PreloadError extends Error {
  /** Stable machine-readable code, e.g. `ERR_INVALID_OPTION`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option or argument failed validation. `option` names it, `value` echoes what was given. */
export class InvalidOptionError extends PreloadError {
  readonly option: string;
  readonly value: unknown;

  constructor(option: string, value: unknown, message: string) {
    super('ERR_INVALID_OPTION', message);
    this.option = option;
    this.value = value;
  }
}

/** The environment cannot run the job: no credentials, unwritable cache directory, unreachable endpoint. */
export class ConfigurationError extends PreloadError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CONFIGURATION', message, options);
  }
}

/** Another `sync` holds this SQLite cache's lock: it is still running (a later one will catch up). */
export class BusyError extends PreloadError {
  constructor(message: string) {
    super('ERR_BUSY', message);
  }
}

/** The account is not entitled to a dataset (the server answered 403 to a listed key). */
export class NotEntitledError extends PreloadError {
  readonly dataset: string;

  constructor(dataset: string, key: string) {
    super('ERR_NOT_ENTITLED', `Access denied for ${key}: not entitled to ${dataset}? Check your plan and your S3 key pair.`);
    this.dataset = dataset;
  }
}

/** A downloaded object did not match its listing (byte length or MD5). */
export class IntegrityError extends PreloadError {
  readonly key: string;

  constructor(key: string, message: string) {
    super('ERR_INTEGRITY', message);
    this.key = key;
  }
}

/** The run was aborted (AbortSignal or Ctrl+C) after recording the progress made so far. */
export class AbortedError extends PreloadError {
  constructor(message = 'Aborted') {
    super('ERR_ABORTED', message);
  }
}

/**
 * The shared store failed: unreachable, refused, restarted mid-run, or of another schema version.
 * `where` is its URL with the password masked; nothing is marked done without its bars.
 */
export class StoreError extends PreloadError {
  readonly where: string;

  constructor(where: string, message: string, options?: { cause?: unknown }) {
    super('ERR_STORE', message, options);
    this.where = where;
  }
}

/**
 * The REST API's corporate actions (splits, dividends) could not be read: an answer that is not
 * JSON or not the documented envelope, a row that fails validation, or a page that still failed
 * after its retries. `url` is the request's address with the API key removed.
 */
export class ActionsError extends PreloadError {
  readonly url: string | undefined;

  constructor(message: string, options?: { cause?: unknown; url?: string | undefined }) {
    super('ERR_ACTIONS', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.url = options?.url;
  }
}
