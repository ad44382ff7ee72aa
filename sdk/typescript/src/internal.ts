/**
 * Helpers shared by both backends: deadlines, argument checks, base64url. Not exported from
 * the package.
 *
 * @module
 */

import { KvAbortError, KvArgumentError, KvTimeoutError } from "./errors.js";
import type { KvCallOptions, KvExpireOptions, KvSetOptions } from "./types.js";

export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Runs `run` with a signal that fires when the caller's signal aborts or the time limit
 * passes, and rejects at that moment with {@link KvAbortError} / {@link KvTimeoutError}
 * whether or not `run` honours the signal.
 */
export async function withDeadline<T>(
  options: KvCallOptions | undefined,
  defaultTimeoutMs: number,
  run: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeoutMs = options?.timeoutMs ?? defaultTimeoutMs;
  const outer = options?.signal;
  if (outer?.aborted) throw new KvAbortError(outer.reason);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (Number.isFinite(timeoutMs) && timeoutMs > 0) {
      timer = setTimeout(() => {
        const err = new KvTimeoutError(timeoutMs);
        controller.abort(err);
        reject(err);
      }, timeoutMs);
    }
    if (outer) {
      onAbort = () => {
        const err = new KvAbortError(outer.reason);
        controller.abort(err);
        reject(err);
      };
      outer.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([run(controller.signal), stop]);
  } finally {
    if (timer) clearTimeout(timer);
    if (outer && onAbort) outer.removeEventListener("abort", onAbort);
  }
}

function checkPositiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v <= 0)) {
    throw new KvArgumentError(`${name} must be a positive integer, got ${String(v)}`);
  }
}

/** Checks `set` options that are invalid on every backend. */
export function checkSetOptions(o: KvSetOptions): void {
  checkPositiveInt("ttl", o.ttl);
  checkPositiveInt("ttlMs", o.ttlMs);
  const expiries = [o.ttl !== undefined, o.ttlMs !== undefined, o.keepTtl === true].filter(Boolean).length;
  if (expiries > 1) throw new KvArgumentError("give at most one of ttl, ttlMs and keepTtl");
  const conditions = [o.nx === true, o.xx === true, o.ifMatch !== undefined].filter(Boolean).length;
  if (conditions > 1) throw new KvArgumentError("give at most one of nx, xx and ifMatch");
  if (o.ifMatch !== undefined && (!Number.isSafeInteger(o.ifMatch) || o.ifMatch < 0)) {
    throw new KvArgumentError(`ifMatch must be a revision (an integer >= 0), got ${String(o.ifMatch)}`);
  }
}

/** The one expiry change an `expire` / `getEx` call asks for. */
export type ExpiryChange =
  | { kind: "ttl"; seconds: number }
  | { kind: "ttlMs"; ms: number }
  | { kind: "at"; unixMs: number }
  | { kind: "persist" };

/** Reads the single expiry change out of `expire` / `getEx` options (`undefined`: none given). */
export function expiryChange(o: KvExpireOptions): ExpiryChange | undefined {
  const given: ExpiryChange[] = [];
  if (o.ttl !== undefined) {
    if (!Number.isSafeInteger(o.ttl)) throw new KvArgumentError("ttl must be an integer");
    given.push({ kind: "ttl", seconds: o.ttl });
  }
  if (o.ttlMs !== undefined) {
    if (!Number.isSafeInteger(o.ttlMs)) throw new KvArgumentError("ttlMs must be an integer");
    given.push({ kind: "ttlMs", ms: o.ttlMs });
  }
  if (o.at !== undefined) {
    const unixMs = o.at instanceof Date ? o.at.getTime() : o.at;
    if (!Number.isSafeInteger(unixMs)) throw new KvArgumentError("at must be a Date or Unix milliseconds");
    given.push({ kind: "at", unixMs });
  }
  if (o.persist === true) given.push({ kind: "persist" });
  if (given.length > 1) throw new KvArgumentError("give exactly one of ttl, ttlMs, at and persist");
  return given[0];
}

/** Checks a namespace index. */
export function checkDb(db: number): number {
  if (!Number.isInteger(db) || db < 0 || db > 15) throw new KvArgumentError(`db/namespace must be 0-15, got ${db}`);
  return db;
}

/** Checks an integer increment. */
export function checkDelta(by: number): void {
  if (!Number.isSafeInteger(by)) throw new KvArgumentError(`incr/decr amount must be a safe integer, got ${by}`);
}

export function checkKey(key: string): void {
  if (typeof key !== "string" || key.length === 0) throw new KvArgumentError("a key must be a non-empty string");
}

/** base64url without padding, as the HTTP batch and SSE bodies use. */
export function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
}

export function fromBase64Url(text: string): Uint8Array {
  const buf = Buffer.from(text, "base64url");
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Seconds rounded to nearest, as Redis's `TTL` and the HTTP `X-KV-TTL` header. */
export function msToSeconds(ms: number): number {
  return Math.round(ms / 1000);
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Turns a `Record` or an iterable of pairs into pairs. */
export function entriesOf<V>(entries: Record<string, V> | Iterable<readonly [string, V]>): Array<readonly [string, V]> {
  if (Symbol.iterator in Object(entries)) return Array.from(entries as Iterable<readonly [string, V]>);
  return Object.entries(entries as Record<string, V>);
}
