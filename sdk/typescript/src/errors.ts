/**
 * Errors thrown by the client. Every error the SDK throws is a {@link KvError}, so one
 * `instanceof KvError` check catches them all; the subclasses say what went wrong.
 *
 * @module
 */

/** Which backend an error came from. */
export type KvBackendKind = "resp" | "http";

/** Base class of every error the SDK throws. */
export class KvError extends Error {
  override name = "KvError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The server could not be reached, or the connection broke before a reply arrived. */
export class KvConnectionError extends KvError {
  override name = "KvConnectionError";
}

/**
 * Credentials were missing or wrong: a RESP `NOAUTH` / `WRONGPASS` reply, or HTTP 401.
 */
export class KvAuthError extends KvError {
  override name = "KvAuthError";
}

/** Why a conditional write was refused. */
export type KvConflictReason = "nx" | "xx" | "ifMatch";

/**
 * A conditional write (`nx`, `xx` or `ifMatch`) was refused because the key's state did not
 * match: the key existed (`nx`), did not exist (`xx`), or its revision differed from
 * `ifMatch` (including a missing key with `ifMatch` ≠ 0). Nothing was written.
 *
 * Over RESP this is `SETREV`'s `-CONFLICT` error or a nil `SET ... NX|XX` reply; over HTTP
 * it is status 409 `conflict`. Both backends throw it in the same cases.
 */
export class KvConflictError extends KvError {
  override name = "KvConflictError";
  /** The key whose write was refused. */
  readonly key: string;
  /** The condition that failed. */
  readonly reason: KvConflictReason;
  constructor(key: string, reason: KvConflictReason, message: string) {
    super(message);
    this.key = key;
    this.reason = reason;
  }
}

/**
 * The server answered with an error: a RESP error reply, or an HTTP error status with the
 * contract's body `{"error":{"code","message"}}`. `code` is the HTTP error code
 * (`invalid_request`, `not_found`, `unavailable`, ...) or the first word of the RESP error
 * (`ERR`, `WRONGTYPE`, ...); `message` is the server's text.
 */
export class KvServerError extends KvError {
  override name = "KvServerError";
  /** Machine-readable code: the HTTP body's `error.code`, or the RESP error's first word. */
  readonly code: string;
  /** HTTP status, when the error came from the HTTP backend. */
  readonly status: number | undefined;
  /** The server's own error text, unchanged. */
  readonly serverMessage: string;
  constructor(code: string, serverMessage: string, status?: number) {
    super(status === undefined ? serverMessage : `${status} ${code}: ${serverMessage}`);
    this.code = code;
    this.status = status;
    this.serverMessage = serverMessage;
  }
}

/** A call took longer than its `timeoutMs`. The request may still have been applied. */
export class KvTimeoutError extends KvError {
  override name = "KvTimeoutError";
  /** The time limit that was exceeded, in milliseconds. */
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

/** A call was cancelled through its `AbortSignal`. The request may still have been applied. */
export class KvAbortError extends KvError {
  override name = "KvAbortError";
  constructor(reason?: unknown) {
    super("the operation was aborted", reason === undefined ? undefined : { cause: reason });
  }
}

/**
 * The option or feature does not exist on this backend, e.g. `metadata` over RESP. Thrown
 * before anything is sent.
 */
export class KvUnsupportedError extends KvError {
  override name = "KvUnsupportedError";
  readonly backend: KvBackendKind;
  constructor(backend: KvBackendKind, message: string) {
    super(message);
    this.backend = backend;
  }
}

/** An argument was invalid (e.g. `nx` together with `xx`). Thrown before anything is sent. */
export class KvArgumentError extends KvError {
  override name = "KvArgumentError";
}

const RESP_AUTH_ERROR = /^(NOAUTH|WRONGPASS)\b|invalid password|invalid username-password/i;

/** @internal Whether a RESP error text means bad or missing credentials. */
export function isRespAuthError(text: string): boolean {
  return RESP_AUTH_ERROR.test(text);
}

/** The HTTP contract's error body. */
interface ErrorBody {
  error?: { code?: string; message?: string };
}

/** @internal Maps an HTTP error response to the SDK's error (not exported from the package). */
export async function errorFromResponse(res: Response, key?: string, conflict: KvConflictReason = "ifMatch"): Promise<KvError> {
  let code = `http_${res.status}`;
  let message = res.statusText;
  try {
    const body = (await res.json()) as ErrorBody;
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
  } catch {
    // not the contract's JSON body (e.g. a proxy's page): keep the status
  }
  if (res.status === 401) return new KvAuthError(`${message} (HTTP 401 ${code})`);
  if (res.status === 409) return new KvConflictError(key ?? "", conflict, message);
  return new KvServerError(code, message, res.status);
}

