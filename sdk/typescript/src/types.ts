/**
 * The public types: the {@link KvClient} interface both backends implement, its options and
 * results, and the {@link KvValue} wrapper around stored bytes.
 *
 * @module
 */

import { KvArgumentError } from "./errors.js";

/** What a value can be written as: text (stored as UTF-8) or raw bytes. */
export type KvInput = string | Uint8Array;

/** A JSON value, as metadata is stored. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const utf8Decoder = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

/**
 * A stored value: the exact bytes the server holds, with helpers to read them as text,
 * bytes or JSON. Values are binary-safe on both backends.
 */
export class KvValue {
  readonly #bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  /** Wraps text (encoded as UTF-8) or bytes (copied). */
  static from(input: KvInput): KvValue {
    return new KvValue(typeof input === "string" ? utf8Encoder.encode(input) : Uint8Array.from(input));
  }

  /** The value's length in bytes. */
  get byteLength(): number {
    return this.#bytes.byteLength;
  }

  /** The raw bytes (a fresh copy: mutating it does not change this value). */
  bytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }

  /** The bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(): string {
    return utf8Decoder.decode(this.#bytes);
  }

  /** The text parsed as JSON. Throws a `SyntaxError` if it is not JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }

  /** Same as {@link KvValue.text}, so a value prints and interpolates as its text. */
  toString(): string {
    return this.text();
  }

  /** JSON form of a value is its text. */
  toJSON(): string {
    return this.text();
  }

  /** True when both hold the same bytes. */
  equals(other: KvValue | KvInput): boolean {
    const b = other instanceof KvValue ? other.#bytes : typeof other === "string" ? utf8Encoder.encode(other) : other;
    const a = this.#bytes;
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
}

/** Encodes a value to bytes for the wire. */
export function toBytes(input: KvInput): Uint8Array {
  if (typeof input === "string") return utf8Encoder.encode(input);
  if (input instanceof Uint8Array) return input;
  throw new KvArgumentError("a value must be a string or a Uint8Array");
}

/** A stored entry, as {@link KvClient.get} and the other reading calls return it. */
export interface KvEntry {
  /** The value. */
  value: KvValue;
  /**
   * The key's revision: a positive integer (at most 2^53 − 1, exact as a JavaScript number)
   * that grows with every write of the key. Pass it as `ifMatch` for compare-and-set.
   */
  revision: number;
  /** Remaining time to live in whole seconds (rounded to nearest, as Redis's `TTL`); absent when the key does not expire. */
  ttl?: number;
  /** Remaining time to live in milliseconds; absent when the key does not expire. */
  ttlMs?: number;
  /** The JSON metadata stored with the key (HTTP backend only); absent when none is stored. */
  metadata?: JsonValue;
}

/** Options every call takes. */
export interface KvCallOptions {
  /** Cancels the call: it rejects with {@link KvAbortError}. */
  signal?: AbortSignal;
  /** Time limit for this call in milliseconds (default: the client's `timeoutMs`). */
  timeoutMs?: number;
}

/** Expiry of a write: at most one of `ttl`, `ttlMs`, `keepTtl`. Without any, the key does not expire. */
export interface KvExpiryOptions {
  /** Expire after this many seconds (a positive integer). */
  ttl?: number;
  /** Expire after this many milliseconds (a positive integer). */
  ttlMs?: number;
}

/** Options of {@link KvClient.set}. */
export interface KvSetOptions extends KvExpiryOptions, KvCallOptions {
  /** Keep the key's current expiry instead of clearing it. */
  keepTtl?: boolean;
  /** Write only if the key does not exist; otherwise throw {@link KvConflictError} (reason `nx`). */
  nx?: boolean;
  /** Write only if the key exists; otherwise throw {@link KvConflictError} (reason `xx`). */
  xx?: boolean;
  /**
   * Compare-and-set: write only if the key's revision equals this one, otherwise throw
   * {@link KvConflictError} (reason `ifMatch`). `0` means "only if the key does not exist".
   * RESP: `SETREV` (no `keepTtl`, `nx`, `xx`, and `ttlMs` only in whole seconds); HTTP: `If-Match`.
   */
  ifMatch?: number;
  /** JSON metadata stored with the value (HTTP backend only; RESP throws {@link KvUnsupportedError}). */
  metadata?: JsonValue;
}

/** What {@link KvClient.set} resolves to. */
export interface KvSetResult {
  /**
   * The new revision, when the server reported it: always over HTTP, and over RESP for
   * `ifMatch` writes (`SETREV` answers it). A plain RESP `SET` answers only `OK`, and reading
   * `REVISION` afterwards could return a later writer's revision, so it is left undefined.
   */
  revision?: number;
}

/** Options of {@link KvClient.expire}: exactly one of `ttl`, `ttlMs`, `at`, `persist`. */
export interface KvExpireOptions extends KvCallOptions {
  /** Expire after this many seconds (0 or less deletes the key, as `EXPIRE` does). */
  ttl?: number;
  /** Expire after this many milliseconds. */
  ttlMs?: number;
  /** Expire at this moment: a `Date` or Unix time in milliseconds. A past moment deletes the key. */
  at?: Date | number;
  /** Remove the expiry. */
  persist?: boolean;
}

/** Options of {@link KvClient.getEx}: at most one of `ttl`, `ttlMs`, `at`, `persist`. */
export type KvGetExOptions = KvExpireOptions;

/** Options of {@link KvClient.mset}. */
export interface KvMsetOptions extends KvExpiryOptions, KvCallOptions {}

/** Options of {@link KvClient.list}. */
export interface KvListOptions extends KvCallOptions {
  /** Only keys starting with this text (matched literally; glob characters need no escaping). */
  prefix?: string;
  /** At most this many keys per page (default 100, at most 1000). */
  limit?: number;
  /** The `nextCursor` of the previous page; omit for the first page. */
  cursor?: string;
}

/** One page of {@link KvClient.list}. */
export interface KvListPage {
  /** Keys of this page. Over HTTP in lexicographic order; over RESP in the server's SCAN order. */
  keys: string[];
  /** Pass as `cursor` to read the next page; absent on the last page. */
  nextCursor?: string;
}

/** Options of {@link KvClient.count}. */
export interface KvCountOptions extends KvCallOptions {
  /** Count only keys starting with this text. */
  prefix?: string;
}

/** Options of {@link KvClient.watch}. */
export interface KvWatchOptions {
  /** Treat the first argument as a key prefix (every key starting with it) rather than one key. */
  prefix?: boolean;
  /**
   * Start after this revision: every change with a higher revision is replayed in revision
   * order before `ready`. Without it a key watch starts with the key's current value (if it
   * exists) and a prefix watch with `ready`.
   */
  since?: number;
  /** Closes the watch when aborted (the iterator then ends without an error). */
  signal?: AbortSignal;
  /** Longest pause between reconnection attempts, in ms (default 2000; the first is 50 ms). */
  maxBackoffMs?: number;
}

/** A key was written. */
export interface KvWatchSetEvent {
  type: "set";
  key: string;
  value: KvValue;
  revision: number;
}

/** A key was deleted, expired or flushed. */
export interface KvWatchDelEvent {
  type: "del";
  key: string;
  revision: number;
}

/**
 * A flush found while replaying history (its keys are unknown): whoever mirrors the keys
 * should drop them all. Live flushes arrive as one `del` per key.
 */
export interface KvWatchFlushEvent {
  type: "flush";
  revision: number;
}

/**
 * The subscription is live: everything before it (initial value or replay) has been
 * delivered. Surfaced once, on the first connection; reconnections do not repeat it.
 */
export interface KvWatchReadyEvent {
  type: "ready";
}

/** What a watch yields. */
export type KvWatchEvent = KvWatchSetEvent | KvWatchDelEvent | KvWatchFlushEvent | KvWatchReadyEvent;

/**
 * A running watch: an async iterator of events that reconnects by itself and resumes after
 * the last revision it delivered, so every change is delivered exactly once, in revision
 * order. Use it with `for await`; `close()` (or breaking out of the loop) stops it.
 */
export interface KvWatch extends AsyncIterableIterator<KvWatchEvent> {
  /** The revision of the last event delivered (or the `since` it started from). */
  readonly lastRevision: number | undefined;
  /** How many times the watch has reconnected. */
  readonly reconnects: number;
  /** Stops the watch: the iterator ends and the connection is closed. */
  close(): Promise<void>;
}

/** Options of {@link createKvClient}. */
export interface KvClientOptions {
  /**
   * Where the server is: `redis://[user:password@]host:port[/db]` or `rediss://` (TLS) picks
   * the RESP backend; `http://host:port` or `https://` the HTTP backend.
   */
  url: string;
  /** Namespace 0–15: RESP `SELECT` index, HTTP `?ns=`. Same keyspace on both backends. */
  db?: number;
  /** Alias of `db`. */
  namespace?: number;
  /** HTTP bearer token (`Authorization: Bearer <token>`). */
  token?: string;
  /** RESP password (`AUTH`); overrides one in the URL. */
  password?: string;
  /** RESP user name (`AUTH user password`); overrides one in the URL. */
  username?: string;
  /** Default time limit of each call, in milliseconds (default 5000). */
  timeoutMs?: number;
}

/**
 * One interface over both backends. Every method takes, last, {@link KvCallOptions}
 * (`signal`, `timeoutMs`), merged into its options object where it has one.
 *
 * Conventions, identical on both backends: a missing or expired key reads as `null`; a
 * refused `nx` / `xx` / `ifMatch` write throws {@link KvConflictError}; a server error (e.g.
 * `incr` of a non-integer) throws {@link KvServerError}.
 */
export interface KvClient {
  /** `"resp"` or `"http"`. */
  readonly backend: "resp" | "http";
  /** The namespace (0–15) this client works in. */
  readonly db: number;

  /** Reads a key: its value, revision, expiry and metadata; `null` if missing or expired. */
  get(key: string, options?: KvCallOptions): Promise<KvEntry | null>;
  /** Writes a key. Conditional writes that fail throw {@link KvConflictError}. */
  set(key: string, value: KvInput, options?: KvSetOptions): Promise<KvSetResult>;
  /** Deletes a key; resolves to whether it existed. */
  delete(key: string, options?: KvCallOptions): Promise<boolean>;
  /** Deletes a key and returns the entry it had (`null` if none). */
  getDel(key: string, options?: KvCallOptions): Promise<KvEntry | null>;
  /** Writes a key (clearing its expiry) and returns the entry it had before (`null` if none). */
  getSet(key: string, value: KvInput, options?: KvCallOptions): Promise<KvEntry | null>;
  /** Reads a key and, optionally, changes its expiry in the same step; `null` if missing. */
  getEx(key: string, options?: KvGetExOptions): Promise<KvEntry | null>;
  /** Whether the key exists. */
  exists(key: string, options?: KvCallOptions): Promise<boolean>;
  /** Adds `by` (default 1) to an integer value (a missing key counts as 0); the new value. */
  incr(key: string, by?: number, options?: KvCallOptions): Promise<number>;
  /** Subtracts `by` (default 1); the new value. */
  decr(key: string, by?: number, options?: KvCallOptions): Promise<number>;
  /** Changes a key's expiry; resolves to whether the key existed. */
  expire(key: string, options: KvExpireOptions): Promise<boolean>;
  /**
   * Remaining time to live in whole seconds (rounded to nearest): `null` for a missing key,
   * `Infinity` for a key without expiry.
   */
  ttl(key: string, options?: KvCallOptions): Promise<number | null>;
  /** As {@link KvClient.ttl}, in milliseconds. */
  ttlMs(key: string, options?: KvCallOptions): Promise<number | null>;
  /** Reads several keys in one round trip; `null` for each missing one, in order. */
  mget(keys: readonly string[], options?: KvCallOptions): Promise<Array<KvEntry | null>>;
  /** Writes several keys in one round trip. */
  mset(entries: Record<string, KvInput> | Iterable<readonly [string, KvInput]>, options?: KvMsetOptions): Promise<void>;
  /** One page of keys, optionally under a prefix. */
  list(options?: KvListOptions): Promise<KvListPage>;
  /** Every key (optionally under a prefix), page by page. */
  keys(options?: Omit<KvListOptions, "cursor">): AsyncIterableIterator<string>;
  /** Number of keys in the namespace, or under a prefix. */
  count(options?: KvCountOptions): Promise<number>;
  /** Deletes every key of the namespace. */
  flush(options?: KvCallOptions): Promise<void>;
  /** Watches a key (or a prefix, with `{ prefix: true }`). See {@link KvWatch}. */
  watch(keyOrPrefix: string, options?: KvWatchOptions): KvWatch;
  /** Closes connections and open watches. */
  close(): Promise<void>;
}
