/**
 * `@beyond.dev/kv/next`: a client configured from environment variables, for server code
 * (Next.js route handlers, server actions, any Node server). It does not depend on Next.js.
 *
 * @module
 */

import { KvArgumentError } from "./errors.js";
import { createKvClient } from "./index.js";
import type { KvClient, KvClientOptions } from "./types.js";

/** The environment, as `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

function pick(env: Env, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== "") return value;
  }
  return undefined;
}

function integer(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new KvArgumentError(`${name} must be an integer, got "${text}"`);
  return Number(text);
}

/**
 * Client options from environment variables. Each setting is read from the first of these
 * that is set (non-empty):
 *
 * | setting | variables |
 * |---|---|
 * | url | `KV_URL`, `BEYOND_KV_URL` |
 * | db / namespace | `KV_DB`, `KV_NAMESPACE`, `BEYOND_KV_DB`, `BEYOND_KV_NAMESPACE` |
 * | token (HTTP) | `KV_TOKEN`, `BEYOND_KV_TOKEN` |
 * | password (RESP) | `KV_PASSWORD`, `BEYOND_KV_PASSWORD` |
 * | timeoutMs | `KV_TIMEOUT_MS`, `BEYOND_KV_TIMEOUT_MS` |
 *
 * Throws {@link KvArgumentError} when no URL is set.
 */
export function kvOptionsFromEnv(env: Env = process.env): KvClientOptions {
  const url = pick(env, "KV_URL", "BEYOND_KV_URL");
  if (url === undefined) throw new KvArgumentError("set KV_URL (or BEYOND_KV_URL) to the server's redis:// or http:// URL");
  const options: KvClientOptions = { url };
  const db = integer("KV_DB / KV_NAMESPACE", pick(env, "KV_DB", "KV_NAMESPACE", "BEYOND_KV_DB", "BEYOND_KV_NAMESPACE"));
  if (db !== undefined) options.db = db;
  const token = pick(env, "KV_TOKEN", "BEYOND_KV_TOKEN");
  if (token !== undefined) options.token = token;
  const password = pick(env, "KV_PASSWORD", "BEYOND_KV_PASSWORD");
  if (password !== undefined) options.password = password;
  const timeoutMs = integer("KV_TIMEOUT_MS", pick(env, "KV_TIMEOUT_MS", "BEYOND_KV_TIMEOUT_MS"));
  if (timeoutMs !== undefined) options.timeoutMs = timeoutMs;
  return options;
}

/** Kept on `globalThis` so that bundlers' module copies and dev-server reloads share one client. */
const CACHE = Symbol.for("@beyond.dev/kv/next:client");
type Cache = { [CACHE]?: KvClient };

/**
 * The process's client, created on first use from the environment ({@link kvOptionsFromEnv})
 * and cached: every call returns the same client, so a RESP server sees one connection per
 * process rather than one per request.
 */
export function createServerKvClient(): KvClient {
  const cache = globalThis as Cache;
  return (cache[CACHE] ??= createKvClient(kvOptionsFromEnv()));
}

/** Closes and forgets the cached client (for tests and graceful shutdown). */
export async function closeServerKvClient(): Promise<void> {
  const cache = globalThis as Cache;
  const client = cache[CACHE];
  delete cache[CACHE];
  await client?.close();
}
