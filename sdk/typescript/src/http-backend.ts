/**
 * The HTTP backend: `http://` and `https://` URLs, stateless requests with `fetch` to the
 * Beyond KV REST API (`/v1/kv/...`), `?ns=` for the namespace and `Authorization: Bearer`
 * for the token.
 *
 * @module
 */

import { KvArgumentError, KvConnectionError, KvError, errorFromResponse, type KvConflictReason } from "./errors.js";
import {
  checkDelta,
  checkKey,
  checkSetOptions,
  entriesOf,
  expiryChange,
  fromBase64Url,
  msToSeconds,
  sleep,
  toBase64Url,
  withDeadline,
  type ExpiryChange,
} from "./internal.js";
import { SseWatchConnector } from "./http-watch.js";
import {
  KvValue,
  toBytes,
  type JsonValue,
  type KvCallOptions,
  type KvClient,
  type KvCountOptions,
  type KvEntry,
  type KvExpireOptions,
  type KvGetExOptions,
  type KvInput,
  type KvListOptions,
  type KvListPage,
  type KvMsetOptions,
  type KvSetOptions,
  type KvSetResult,
  type KvWatch,
  type KvWatchOptions,
} from "./types.js";
import { ResumingWatch } from "./watch.js";

/** Settings of the HTTP backend. */
export interface HttpConfig {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:4869`. */
  baseUrl: string;
  db: number;
  token: string | undefined;
  timeoutMs: number;
}

/** Metadata above this size goes in a batch body: the server's HTTP parser caps header lines at 8 KiB. */
const MAX_METADATA_HEADER_BYTES = 7 * 1024;
/** Reads are retried this many times on 502/503/504 or a dropped connection, as the public clients do. */
const READ_RETRIES = 2;

/** How {@link HttpKvClient} sends one request. */
interface FetchInit {
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  /** Statuses that are not errors. */
  ok: readonly number[];
  /** The key, for a conflict error. */
  key?: string;
  /** Which condition a 409 means. */
  conflict?: KvConflictReason;
}

/** One `get` result of a batch (and the shape of `returnOld` results). */
interface BatchEntry {
  value: string;
  revision: number;
  ttl?: number;
  ttl_ms?: number;
  metadata?: JsonValue;
}

/** JSON text with every non-ASCII character escaped, so it is a valid header value. */
function asciiJson(value: JsonValue): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Header values arrive decoded as Latin-1; metadata is UTF-8 JSON. */
function headerUtf8(value: string): string {
  return Buffer.from(value, "latin1").toString("utf8");
}

function entryFromResponse(headers: Headers, body: ArrayBuffer): KvEntry {
  const entry: KvEntry = { value: new KvValue(new Uint8Array(body)), revision: Number(headers.get("x-kv-revision") ?? 0) };
  const ms = headers.get("x-kv-ttl-ms");
  const s = headers.get("x-kv-ttl");
  if (ms !== null) {
    entry.ttlMs = Number(ms);
    entry.ttl = s !== null ? Number(s) : msToSeconds(entry.ttlMs);
  } else if (s !== null) {
    entry.ttl = Number(s);
    entry.ttlMs = entry.ttl * 1000;
  }
  const metadata = headers.get("x-kv-metadata");
  if (metadata !== null) entry.metadata = JSON.parse(headerUtf8(metadata)) as JsonValue;
  return entry;
}

function entryFromBatch(result: BatchEntry | null): KvEntry | null {
  if (result === null) return null;
  const entry: KvEntry = { value: new KvValue(fromBase64Url(result.value)), revision: result.revision };
  if (result.ttl_ms !== undefined) {
    entry.ttlMs = result.ttl_ms;
    entry.ttl = result.ttl ?? msToSeconds(result.ttl_ms);
  } else if (result.ttl !== undefined) {
    entry.ttl = result.ttl;
    entry.ttlMs = result.ttl * 1000;
  }
  if (result.metadata !== undefined) entry.metadata = result.metadata;
  return entry;
}

function expiryQuery(change: ExpiryChange): Record<string, string> {
  switch (change.kind) {
    case "ttl":
      return { ttl: String(Math.max(0, change.seconds)) };
    case "ttlMs":
      return { ttl_ms: String(Math.max(0, change.ms)) };
    case "at":
      return { ttl_at_ms: String(Math.max(0, change.unixMs)) };
    case "persist":
      return { persist: "1" };
  }
}

/** {@link KvClient} over HTTP. */
export class HttpKvClient implements KvClient {
  readonly backend = "http" as const;
  readonly db: number;
  readonly #config: HttpConfig;
  readonly #watches = new Set<ResumingWatch>();

  constructor(config: HttpConfig) {
    this.#config = config;
    this.db = config.db;
  }

  /** Headers every request carries. */
  #headers(extra?: Record<string, string>): Record<string, string> {
    const headers: Record<string, string> = { ...extra };
    if (this.#config.token !== undefined) headers.authorization = `Bearer ${this.#config.token}`;
    return headers;
  }

  #url(path: string, query: Record<string, string | undefined> = {}): string {
    const params = new URLSearchParams({ ns: String(this.#config.db) });
    for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, value);
    return `${this.#config.baseUrl}${path}?${params.toString()}`;
  }

  /**
   * Sends one request; returns the response when its status is in `ok`, otherwise throws the
   * contract's error. Reads (`GET`, `HEAD`) are retried on 502/503/504 and dropped connections.
   */
  async #fetch(
    signal: AbortSignal,
    method: string,
    url: string,
    init: FetchInit,
  ): Promise<Response> {
    const retries = method === "GET" || method === "HEAD" ? READ_RETRIES : 0;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(url, { method, headers: this.#headers(init.headers), body: init.body ?? null, signal });
      } catch (error) {
        if (signal.aborted) throw signal.reason instanceof KvError ? signal.reason : new KvConnectionError("aborted", { cause: error });
        if (attempt < retries) {
          await sleep(50 * 3 ** attempt, signal);
          continue;
        }
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
        throw new KvConnectionError(`${method} ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause: error });
      }
      if (init.ok.includes(res.status)) return res;
      if (attempt < retries && (res.status === 502 || res.status === 503 || res.status === 504)) {
        await res.body?.cancel();
        await sleep(50 * 3 ** attempt, signal);
        continue;
      }
      throw await errorFromResponse(res, init.key, init.conflict);
    }
  }

  #keyPath(key: string): string {
    checkKey(key);
    return `/v1/kv/${encodeURIComponent(key)}`;
  }

  async get(key: string, options?: KvCallOptions): Promise<KvEntry | null> {
    const path = this.#keyPath(key);
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "GET", this.#url(path), { ok: [200, 404], key });
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      return entryFromResponse(res.headers, await res.arrayBuffer());
    });
  }

  async set(key: string, value: KvInput, options: KvSetOptions = {}): Promise<KvSetResult> {
    const path = this.#keyPath(key);
    checkSetOptions(options);
    const bytes = toBytes(value);
    const conflict: KvConflictReason = options.nx ? "nx" : options.xx ? "xx" : "ifMatch";
    const metadata = options.metadata === undefined ? undefined : asciiJson(options.metadata);
    if (metadata !== undefined && metadata.length > MAX_METADATA_HEADER_BYTES) {
      return this.#setByBatch(key, bytes, options, conflict);
    }
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (options.ttl !== undefined) headers["x-kv-ttl"] = String(options.ttl);
    if (options.ttlMs !== undefined) headers["x-kv-ttl-ms"] = String(options.ttlMs);
    if (options.keepTtl) headers["x-kv-keepttl"] = "1";
    if (options.ifMatch !== undefined) headers["if-match"] = String(options.ifMatch);
    if (metadata !== undefined) headers["x-kv-metadata"] = metadata;
    const query = { nx: options.nx ? "1" : undefined, xx: options.xx ? "1" : undefined };
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "PUT", this.#url(path, query), { headers, body: bytes, ok: [204, 200], key, conflict });
      await res.body?.cancel();
      const revision = res.headers.get("x-kv-revision");
      return revision === null ? {} : { revision: Number(revision) };
    });
  }

  /** A set whose metadata is too large for a header: one batch op (which reports no revision). */
  async #setByBatch(key: string, bytes: Uint8Array, options: KvSetOptions, conflict: KvConflictReason): Promise<KvSetResult> {
    const op: Record<string, unknown> = { op: "set", key, value: toBase64Url(bytes), metadata: options.metadata };
    if (options.ttl !== undefined) op.ttl = options.ttl;
    if (options.ttlMs !== undefined) op.ttlMs = options.ttlMs;
    if (options.keepTtl) op.keepTtl = true;
    if (options.nx) op.nx = true;
    if (options.xx) op.xx = true;
    if (options.ifMatch !== undefined) op.ifMatch = options.ifMatch;
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      await this.#batch(signal, [op], key, conflict);
      return {};
    });
  }

  async #batch<T>(signal: AbortSignal, ops: unknown[], key?: string, conflict?: KvConflictReason): Promise<T[]> {
    const init: FetchInit = {
      headers: { "content-type": "application/json" },
      body: JSON.stringify(ops),
      ok: [200],
    };
    if (key !== undefined) init.key = key;
    if (conflict !== undefined) init.conflict = conflict;
    const res = await this.#fetch(signal, "POST", this.#url("/v1/kv/batch"), init);
    return (await res.json()) as T[];
  }

  async delete(key: string, options?: KvCallOptions): Promise<boolean> {
    const path = this.#keyPath(key);
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      // Return-Old is how HTTP tells whether the key existed (DELETE is 204 either way).
      const res = await this.#fetch(signal, "DELETE", this.#url(path), { headers: { "x-kv-return-old": "1" }, ok: [200, 204], key });
      await res.body?.cancel();
      return res.status === 200;
    });
  }

  async getDel(key: string, options?: KvCallOptions): Promise<KvEntry | null> {
    const path = this.#keyPath(key);
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "DELETE", this.#url(path), { headers: { "x-kv-return-old": "1" }, ok: [200, 204], key });
      if (res.status === 204) return null;
      return entryFromResponse(res.headers, await res.arrayBuffer());
    });
  }

  async getSet(key: string, value: KvInput, options?: KvCallOptions): Promise<KvEntry | null> {
    const path = this.#keyPath(key);
    const bytes = toBytes(value);
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "PUT", this.#url(path), {
        headers: { "x-kv-return-old": "1", "content-type": "application/octet-stream" },
        body: bytes,
        ok: [200, 204],
        key,
      });
      if (res.status === 204) return null;
      return entryFromResponse(res.headers, await res.arrayBuffer());
    });
  }

  async getEx(key: string, options: KvGetExOptions = {}): Promise<KvEntry | null> {
    const path = this.#keyPath(key);
    const change = expiryChange(options);
    if (!change) return this.get(key, options);
    if ((change.kind === "ttl" && change.seconds <= 0) || (change.kind === "ttlMs" && change.ms <= 0)) {
      throw new KvArgumentError("getEx needs a positive ttl/ttlMs (use delete or expire to remove a key)");
    }
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "PATCH", this.#url(path, expiryQuery(change)), { headers: { "x-kv-return-value": "1" }, ok: [200, 404], key });
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      return entryFromResponse(res.headers, await res.arrayBuffer());
    });
  }

  async exists(key: string, options?: KvCallOptions): Promise<boolean> {
    const path = this.#keyPath(key);
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "HEAD", this.#url(path), { ok: [200, 404], key });
      return res.status === 200;
    });
  }

  async incr(key: string, by = 1, options?: KvCallOptions): Promise<number> {
    const path = this.#keyPath(key);
    checkDelta(by);
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "POST", this.#url(`${path}/incr`, { delta: String(by) }), { ok: [200], key });
      return ((await res.json()) as { value: number }).value;
    });
  }

  async decr(key: string, by = 1, options?: KvCallOptions): Promise<number> {
    checkDelta(by);
    return this.incr(key, -by, options);
  }

  async expire(key: string, options: KvExpireOptions): Promise<boolean> {
    const path = this.#keyPath(key);
    const change = expiryChange(options);
    if (!change) throw new KvArgumentError("expire needs one of ttl, ttlMs, at, persist");
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "PATCH", this.#url(path, expiryQuery(change)), { ok: [204, 404], key });
      await res.body?.cancel();
      return res.status === 204;
    });
  }

  async ttl(key: string, options?: KvCallOptions): Promise<number | null> {
    const headers = await this.#head(key, options);
    if (headers === null) return null;
    const s = headers.get("x-kv-ttl");
    return s === null ? Infinity : Number(s);
  }

  async ttlMs(key: string, options?: KvCallOptions): Promise<number | null> {
    const headers = await this.#head(key, options);
    if (headers === null) return null;
    const ms = headers.get("x-kv-ttl-ms");
    return ms === null ? Infinity : Number(ms);
  }

  async #head(key: string, options?: KvCallOptions): Promise<Headers | null> {
    const path = this.#keyPath(key);
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "HEAD", this.#url(path), { ok: [200, 404], key });
      return res.status === 200 ? res.headers : null;
    });
  }

  async mget(keys: readonly string[], options?: KvCallOptions): Promise<Array<KvEntry | null>> {
    keys.forEach(checkKey);
    if (keys.length === 0) return Promise.resolve([]);
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const results = await this.#batch<BatchEntry | null>(signal, keys.map((key) => ({ op: "get", key })));
      return results.map(entryFromBatch);
    });
  }

  async mset(entries: Record<string, KvInput> | Iterable<readonly [string, KvInput]>, options: KvMsetOptions = {}): Promise<void> {
    const pairs = entriesOf(entries);
    pairs.forEach(([key]) => checkKey(key));
    checkSetOptions(options);
    if (pairs.length === 0) return Promise.resolve();
    const ops = pairs.map(([key, value]) => {
      const op: Record<string, unknown> = { op: "set", key, value: toBase64Url(toBytes(value)) };
      if (options.ttl !== undefined) op.ttl = options.ttl;
      if (options.ttlMs !== undefined) op.ttlMs = options.ttlMs;
      return op;
    });
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      await this.#batch(signal, ops);
    });
  }

  async list(options: KvListOptions = {}): Promise<KvListPage> {
    const limit = Math.min(Math.max(1, options.limit ?? 100), 1000);
    const query = { prefix: options.prefix || undefined, cursor: options.cursor, limit: String(limit) };
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "GET", this.#url("/v1/kv", query), { ok: [200] });
      const body = (await res.json()) as { keys: Array<{ name: string }>; next_cursor?: string | null };
      const page: KvListPage = { keys: body.keys.map((k) => k.name) };
      if (body.next_cursor) page.nextCursor = body.next_cursor;
      return page;
    });
  }

  async *keys(options: Omit<KvListOptions, "cursor"> = {}): AsyncIterableIterator<string> {
    let cursor: string | undefined;
    do {
      const page: KvListPage = await this.list({ ...options, ...(cursor === undefined ? {} : { cursor }) });
      yield* page.keys;
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  }

  async count(options: KvCountOptions = {}): Promise<number> {
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      const res = await this.#fetch(signal, "GET", this.#url("/v1/kv", { count: "1", prefix: options.prefix || undefined }), { ok: [200] });
      return ((await res.json()) as { count: number }).count;
    });
  }

  async flush(options?: KvCallOptions): Promise<void> {
    return withDeadline(options, this.#config.timeoutMs, async (signal) => {
      await this.#fetch(signal, "DELETE", this.#url("/v1/kv"), { ok: [204] });
    });
  }

  watch(keyOrPrefix: string, options: KvWatchOptions = {}): KvWatch {
    if (!options.prefix) checkKey(keyOrPrefix);
    const connector = new SseWatchConnector({
      url: (since) =>
        options.prefix
          ? this.#url("/v1/watch", { prefix: keyOrPrefix, since: since === undefined ? undefined : String(since) })
          : this.#url(`/v1/watch/${encodeURIComponent(keyOrPrefix)}`, { since: since === undefined ? undefined : String(since) }),
      headers: () => this.#headers({ accept: "text/event-stream" }),
      connectTimeoutMs: this.#config.timeoutMs + 5000,
    });
    const watch = new ResumingWatch(connector, options, () => this.#watches.delete(watch));
    this.#watches.add(watch);
    return watch;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#watches].map((w) => w.close()));
    this.#watches.clear();
  }
}
