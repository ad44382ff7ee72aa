/**
 * The RESP backend: `redis://` and `rediss://` URLs. Ordinary commands go through one
 * ioredis connection (pipelined); `watch()` opens its own RESP3 socket (see resp-watch.ts),
 * because ioredis speaks only RESP2 and cannot receive push frames.
 *
 * @module
 */

import { Redis, type ChainableCommander, type RedisOptions } from "ioredis";
import {
  KvArgumentError,
  KvAuthError,
  KvConflictError,
  KvConnectionError,
  KvError,
  KvServerError,
  KvUnsupportedError,
  isRespAuthError,
  type KvConflictReason,
} from "./errors.js";
import {
  checkDb,
  checkDelta,
  checkKey,
  checkSetOptions,
  entriesOf,
  expiryChange,
  msToSeconds,
  withDeadline,
  type ExpiryChange,
} from "./internal.js";
import { RespWatchConnector, type RespTarget } from "./resp-watch.js";
import {
  KvValue,
  toBytes,
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

/** Settings of the RESP backend, resolved from the URL and the client options. */
export interface RespConfig extends RespTarget {
  timeoutMs: number;
}

/** Parses `redis://[user[:password]@]host[:port][/db]` (and `rediss://`). */
export function parseRespUrl(url: URL): Omit<RespTarget, "db"> & { db: number | undefined } {
  const path = url.pathname.replace(/^\//, "");
  let db: number | undefined;
  if (path !== "") {
    if (!/^\d+$/.test(path)) throw new KvArgumentError(`the database in ${url.protocol}// URLs is a number 0-15, got "${path}"`);
    db = checkDb(Number(path));
  }
  return {
    host: url.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
    port: url.port === "" ? 6379 : Number(url.port),
    tls: url.protocol === "rediss:",
    username: url.username === "" ? undefined : decodeURIComponent(url.username),
    password: url.password === "" ? undefined : decodeURIComponent(url.password),
    db,
  };
}

/** The server's error reply or connection failure, as the SDK's error type. */
function translate(error: unknown, key?: string, conflict: KvConflictReason = "ifMatch"): KvError {
  if (error instanceof KvError) return error;
  if (error instanceof Error) {
    if (error.name === "ReplyError") {
      const text = error.message;
      if (text.startsWith("CONFLICT")) return new KvConflictError(key ?? "", conflict, text);
      if (isRespAuthError(text)) return new KvAuthError(text);
      return new KvServerError(text.split(" ", 1)[0] ?? "ERR", text);
    }
    return new KvConnectionError(error.message, { cause: error });
  }
  return new KvConnectionError(String(error));
}

/** Escapes a literal prefix for a SCAN `MATCH` glob. */
function globPrefix(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`) + "*";
}

function entryFrom(value: Buffer | null, revision: unknown, pttl: unknown): KvEntry | null {
  if (value === null) return null;
  const entry: KvEntry = { value: new KvValue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)), revision: Number(revision) };
  const ms = Number(pttl);
  if (ms >= 0) {
    entry.ttlMs = ms;
    entry.ttl = msToSeconds(ms);
  }
  return entry;
}

function expiryArgs(change: ExpiryChange): Array<string | number> {
  switch (change.kind) {
    case "ttl":
      return ["EX", change.seconds];
    case "ttlMs":
      return ["PX", change.ms];
    case "at":
      return ["PXAT", change.unixMs];
    case "persist":
      return ["PERSIST"];
  }
}

/** {@link KvClient} over RESP. */
export class RespKvClient implements KvClient {
  readonly backend = "resp" as const;
  readonly db: number;
  readonly #config: RespConfig;
  readonly #redis: Redis;
  readonly #watches = new Set<ResumingWatch>();
  #lastConnectionError: Error | undefined;

  constructor(config: RespConfig) {
    this.#config = config;
    this.db = config.db;
    const options: RedisOptions = {
      host: config.host,
      port: config.port,
      db: config.db,
      lazyConnect: false,
      enableAutoPipelining: true,
      // Fail queued commands after two reconnection attempts rather than twenty, so a down
      // server is a KvConnectionError well inside the default time limit.
      maxRetriesPerRequest: 2,
      retryStrategy: (times) => Math.min(50 * 2 ** times, 1000),
    };
    if (config.username !== undefined) options.username = config.username;
    if (config.password !== undefined) options.password = config.password;
    if (config.tls) options.tls = { servername: config.host };
    this.#redis = new Redis(options);
    // ioredis reports connection trouble as events; keep the last for error messages.
    this.#redis.on("error", (error: Error) => {
      this.#lastConnectionError = error;
    });
    this.#redis.on("ready", () => {
      this.#lastConnectionError = undefined;
    });
  }

  /** Runs `run` under the call's deadline, translating ioredis's errors. */
  async #call<T>(options: KvCallOptions | undefined, key: string | undefined, run: () => Promise<T>, conflict?: KvConflictReason): Promise<T> {
    return withDeadline(options, this.#config.timeoutMs, async () => {
      try {
        return await run();
      } catch (error) {
        const translated = translate(error, key, conflict);
        // ioredis reports a failed AUTH on the connection, and fails queued commands with
        // a generic error; surface the credentials problem instead.
        if (translated instanceof KvConnectionError && this.#lastConnectionError && isRespAuthError(this.#lastConnectionError.message)) {
          throw new KvAuthError(this.#lastConnectionError.message, { cause: error });
        }
        throw translated;
      }
    });
  }

  /** Runs a pipeline (one write, replies in order) and returns its replies, or throws the first error. */
  async #exec(pipeline: ChainableCommander): Promise<unknown[]> {
    const results = await pipeline.exec();
    if (results === null) throw new KvConnectionError("the pipeline was discarded");
    return results.map(([error, reply]) => {
      if (error) throw error;
      return reply;
    });
  }

  async get(key: string, options?: KvCallOptions): Promise<KvEntry | null> {
    checkKey(key);
    return this.#call(options, key, async () => (await this.#readEntries([key]))[0] ?? null);
  }

  /**
   * Reads entries so that each value belongs to the revision reported with it: one pipeline
   * of `REVISION`, `GET`, `PTTL`, `REVISION` per key. Every write raises a key's revision, so
   * equal revisions before and after mean no write came in between; a key written meanwhile
   * is read again (a pipeline may be split across the server's batches, so this is checked,
   * not assumed).
   */
  async #readEntries(keys: readonly string[]): Promise<Array<KvEntry | null>> {
    const out: Array<KvEntry | null> = new Array<KvEntry | null>(keys.length).fill(null);
    let pending = keys.map((_, i) => i);
    for (let attempt = 0; pending.length > 0; attempt++) {
      const pipeline = this.#redis.pipeline();
      for (const i of pending) {
        const key = keys[i] as string;
        pipeline.call("REVISION", key).getBuffer(key).pttl(key).call("REVISION", key);
      }
      const replies = await this.#exec(pipeline);
      const retry: number[] = [];
      pending.forEach((i, j) => {
        const [before, value, pttl, after] = replies.slice(4 * j, 4 * j + 4);
        if (Number(before) !== Number(after) && attempt < 10) retry.push(i);
        else out[i] = entryFrom(value as Buffer | null, after, pttl);
      });
      pending = retry;
    }
    return out;
  }

  async set(key: string, value: KvInput, options: KvSetOptions = {}): Promise<KvSetResult> {
    checkKey(key);
    if (options.metadata !== undefined) {
      throw new KvUnsupportedError("resp", "metadata is stored only by the HTTP backend (use an http:// or https:// URL); nothing was sent");
    }
    checkSetOptions(options);
    const bytes = Buffer.from(toBytes(value));
    if (options.ifMatch !== undefined) {
      if (options.keepTtl) throw new KvUnsupportedError("resp", "ifMatch with keepTtl: SETREV cannot keep an expiry; nothing was sent");
      const args: Array<string | number | Buffer> = [key, bytes, String(options.ifMatch)];
      if (options.ttl !== undefined) args.push("EX", options.ttl);
      if (options.ttlMs !== undefined) {
        if (options.ttlMs % 1000 !== 0) throw new KvUnsupportedError("resp", "ifMatch with ttlMs: SETREV takes whole seconds (EX); nothing was sent");
        args.push("EX", options.ttlMs / 1000);
      }
      return this.#call(options, key, async () => ({ revision: Number(await this.#redis.call("SETREV", ...args)) }), "ifMatch");
    }
    const args: Array<string | number | Buffer> = [key, bytes];
    if (options.ttl !== undefined) args.push("EX", options.ttl);
    if (options.ttlMs !== undefined) args.push("PX", options.ttlMs);
    if (options.keepTtl) args.push("KEEPTTL");
    if (options.nx) args.push("NX");
    if (options.xx) args.push("XX");
    return this.#call(options, key, async () => {
      const reply = await this.#redis.call("SET", ...args);
      if (reply === null) {
        const reason = options.nx ? "nx" : "xx";
        throw new KvConflictError(key, reason, reason === "nx" ? `key "${key}" already exists (nx)` : `key "${key}" does not exist (xx)`);
      }
      return {};
    });
  }

  async delete(key: string, options?: KvCallOptions): Promise<boolean> {
    checkKey(key);
    return this.#call(options, key, async () => (await this.#redis.del(key)) > 0);
  }

  async getDel(key: string, options?: KvCallOptions): Promise<KvEntry | null> {
    checkKey(key);
    return this.#call(options, key, async () => {
      const [revision, pttl, value] = await this.#exec(this.#redis.pipeline().call("REVISION", key).pttl(key).getdelBuffer(key));
      return entryFrom(value as Buffer | null, revision, pttl);
    });
  }

  async getSet(key: string, value: KvInput, options?: KvCallOptions): Promise<KvEntry | null> {
    checkKey(key);
    const bytes = Buffer.from(toBytes(value));
    return this.#call(options, key, async () => {
      const [revision, pttl, old] = await this.#exec(this.#redis.pipeline().call("REVISION", key).pttl(key).callBuffer("SET", key, bytes, "GET"));
      return entryFrom(old as Buffer | null, revision, pttl);
    });
  }

  async getEx(key: string, options: KvGetExOptions = {}): Promise<KvEntry | null> {
    checkKey(key);
    const change = expiryChange(options);
    if ((change?.kind === "ttl" && change.seconds <= 0) || (change?.kind === "ttlMs" && change.ms <= 0)) {
      throw new KvArgumentError("getEx needs a positive ttl/ttlMs (use delete or expire to remove a key)");
    }
    const args = change ? expiryArgs(change) : [];
    return this.#call(options, key, async () => {
      const [value, revision, pttl] = await this.#exec(this.#redis.pipeline().callBuffer("GETEX", key, ...args).call("REVISION", key).pttl(key));
      return entryFrom(value as Buffer | null, revision, pttl);
    });
  }

  async exists(key: string, options?: KvCallOptions): Promise<boolean> {
    checkKey(key);
    return this.#call(options, key, async () => (await this.#redis.exists(key)) === 1);
  }

  async incr(key: string, by = 1, options?: KvCallOptions): Promise<number> {
    checkKey(key);
    checkDelta(by);
    return this.#call(options, key, () => this.#redis.incrby(key, by));
  }

  async decr(key: string, by = 1, options?: KvCallOptions): Promise<number> {
    checkKey(key);
    checkDelta(by);
    return this.#call(options, key, () => this.#redis.decrby(key, by));
  }

  async expire(key: string, options: KvExpireOptions): Promise<boolean> {
    checkKey(key);
    const change = expiryChange(options);
    if (!change) throw new KvArgumentError("expire needs one of ttl, ttlMs, at, persist");
    return this.#call(options, key, async () => {
      switch (change.kind) {
        case "ttl":
          return (await this.#redis.expire(key, change.seconds)) === 1;
        case "ttlMs":
          return (await this.#redis.pexpire(key, change.ms)) === 1;
        case "at":
          return (await this.#redis.pexpireat(key, change.unixMs)) === 1;
        case "persist": {
          // PERSIST answers 0 for a key without expiry too; report whether the key exists.
          const [, exists] = await this.#exec(this.#redis.pipeline().persist(key).exists(key));
          return exists === 1;
        }
      }
    });
  }

  async ttl(key: string, options?: KvCallOptions): Promise<number | null> {
    const ms = await this.ttlMs(key, options);
    return ms === null || ms === Infinity ? ms : msToSeconds(ms);
  }

  async ttlMs(key: string, options?: KvCallOptions): Promise<number | null> {
    checkKey(key);
    return this.#call(options, key, async () => {
      const ms = await this.#redis.pttl(key);
      return ms === -2 ? null : ms === -1 ? Infinity : ms;
    });
  }

  async mget(keys: readonly string[], options?: KvCallOptions): Promise<Array<KvEntry | null>> {
    keys.forEach(checkKey);
    if (keys.length === 0) return [];
    return this.#call(options, undefined, () => this.#readEntries(keys));
  }

  async mset(entries: Record<string, KvInput> | Iterable<readonly [string, KvInput]>, options: KvMsetOptions = {}): Promise<void> {
    const pairs = entriesOf(entries);
    pairs.forEach(([key]) => checkKey(key));
    checkSetOptions(options);
    if (pairs.length === 0) return Promise.resolve();
    return this.#call(options, undefined, async () => {
      if (options.ttl === undefined && options.ttlMs === undefined) {
        await this.#redis.mset(pairs.flatMap(([key, value]) => [key, Buffer.from(toBytes(value))]));
        return;
      }
      const expiry = options.ttl !== undefined ? ["EX", options.ttl] : ["PX", options.ttlMs as number];
      const pipeline = this.#redis.pipeline();
      for (const [key, value] of pairs) pipeline.call("SET", key, Buffer.from(toBytes(value)), ...expiry);
      await this.#exec(pipeline);
    });
  }

  async list(options: KvListOptions = {}): Promise<KvListPage> {
    const limit = Math.min(Math.max(1, options.limit ?? 100), 1000);
    if (options.cursor !== undefined && !/^\d+$/.test(options.cursor)) throw new KvArgumentError(`not a RESP SCAN cursor: "${options.cursor}"`);
    return this.#call(options, undefined, async () => {
      const [next, keys] = await this.#redis.scan(options.cursor ?? "0", "MATCH", globPrefix(options.prefix ?? ""), "COUNT", limit);
      const page: KvListPage = { keys };
      if (next !== "0") page.nextCursor = next;
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
    return this.#call(options, undefined, async () => {
      if (!options.prefix) return this.#redis.dbsize();
      let n = 0;
      let cursor = "0";
      do {
        const [next, keys] = await this.#redis.scan(cursor, "MATCH", globPrefix(options.prefix), "COUNT", 1000);
        n += keys.length;
        cursor = next;
      } while (cursor !== "0");
      return n;
    });
  }

  async flush(options?: KvCallOptions): Promise<void> {
    return this.#call(options, undefined, async () => {
      await this.#redis.flushdb();
    });
  }

  watch(keyOrPrefix: string, options: KvWatchOptions = {}): KvWatch {
    if (!options.prefix) checkKey(keyOrPrefix);
    const connector = new RespWatchConnector(this.#config, keyOrPrefix, options.prefix === true, this.#config.timeoutMs);
    const watch = new ResumingWatch(connector, options, () => this.#watches.delete(watch));
    this.#watches.add(watch);
    return watch;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#watches].map((w) => w.close()));
    this.#watches.clear();
    // QUIT lets queued replies arrive first; a server that does not answer gets a hard close.
    const quit = this.#redis.quit().then(
      () => true,
      () => false,
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.min(this.#config.timeoutMs, 1000))));
    const clean = await Promise.race([quit, timeout]);
    clearTimeout(timer);
    if (!clean) this.#redis.disconnect();
  }
}
