/**
 * `@beyond.dev/kv`: one client for beyond-kv over RESP (`redis://`, `rediss://`) or HTTP
 * (`http://`, `https://`).
 *
 * ```ts
 * import { createKvClient } from "@beyond.dev/kv";
 * const kv = createKvClient({ url: "redis://127.0.0.1:6379" });
 * await kv.set("greeting", "hello", { ttl: 60 });
 * (await kv.get("greeting"))?.value.text(); // "hello"
 * ```
 *
 * @module
 */

import { KvArgumentError } from "./errors.js";
import { HttpKvClient } from "./http-backend.js";
import { DEFAULT_TIMEOUT_MS, checkDb } from "./internal.js";
import { RespKvClient, parseRespUrl } from "./resp-backend.js";
import type { KvClient, KvClientOptions } from "./types.js";

export {
  KvAbortError,
  KvArgumentError,
  KvAuthError,
  KvConflictError,
  KvConnectionError,
  KvError,
  KvServerError,
  KvTimeoutError,
  KvUnsupportedError,
  type KvBackendKind,
  type KvConflictReason,
} from "./errors.js";
export { KvValue } from "./types.js";
export type {
  JsonValue,
  KvCallOptions,
  KvClient,
  KvClientOptions,
  KvCountOptions,
  KvEntry,
  KvExpireOptions,
  KvExpiryOptions,
  KvGetExOptions,
  KvInput,
  KvListOptions,
  KvListPage,
  KvMsetOptions,
  KvSetOptions,
  KvSetResult,
  KvWatch,
  KvWatchDelEvent,
  KvWatchEvent,
  KvWatchFlushEvent,
  KvWatchOptions,
  KvWatchReadyEvent,
  KvWatchSetEvent,
} from "./types.js";

/**
 * Creates a client. The URL's scheme picks the backend: `redis://` / `rediss://` → RESP (one
 * pipelined connection; `db` from the options or the URL path; user and password from the
 * URL or the options), `http://` / `https://` → HTTP (stateless `fetch`; `?ns=` from `db` /
 * `namespace` or the URL's `ns` parameter; `token` as `Authorization: Bearer`).
 *
 * Throws {@link KvArgumentError} for an unknown scheme or an invalid namespace.
 */
export function createKvClient(options: KvClientOptions): KvClient {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new KvArgumentError(`not a URL: "${options.url}"`);
  }
  if (options.db !== undefined && options.namespace !== undefined && options.db !== options.namespace) {
    throw new KvArgumentError("db and namespace name the same thing; give one");
  }
  const optionDb = options.db ?? options.namespace;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  switch (url.protocol) {
    case "redis:":
    case "rediss:": {
      const parsed = parseRespUrl(url);
      return new RespKvClient({
        ...parsed,
        db: checkDb(optionDb ?? parsed.db ?? 0),
        username: options.username ?? parsed.username,
        password: options.password ?? parsed.password,
        timeoutMs,
      });
    }
    case "http:":
    case "https:": {
      const ns = url.searchParams.get("ns");
      const base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
      return new HttpKvClient({
        baseUrl: base,
        db: checkDb(optionDb ?? (ns === null ? 0 : Number(ns))),
        token: options.token,
        timeoutMs,
      });
    }
    default:
      throw new KvArgumentError(`unsupported URL scheme "${url.protocol}": use redis://, rediss://, http:// or https://`);
  }
}
