/**
 * Watch over HTTP: `GET /v1/watch/{key}` or `/v1/watch?prefix=`, read as Server-Sent Events
 * (`data: <json>` lines, events ended by a blank line, `: heartbeat` comments).
 *
 * @module
 */

import { KvAuthError, KvConnectionError, KvServerError, errorFromResponse } from "./errors.js";
import { fromBase64Url } from "./internal.js";
import { KvValue, type KvWatchEvent } from "./types.js";
import type { WatchConnector } from "./watch.js";

/** What {@link SseWatchConnector} needs from the client. */
export interface SseTarget {
  /** The stream's URL, resuming after `since` when given. */
  url(since: number | undefined): string;
  /** Request headers (token, `Accept`). */
  headers(): Record<string, string>;
  /** How long to wait for the response's status line. */
  connectTimeoutMs: number;
}

/** An SSE event's `data` JSON. */
interface SseData {
  type?: string;
  key?: string;
  value?: string;
  revision?: number;
  error?: { code?: string; message?: string };
}

/** Status codes a retry cannot fix. */
const FATAL_STATUS = new Set([400, 401, 403, 404, 405, 410]);

/** One decoded SSE event: its `event:` name (default `message`) and `data:` text. */
interface SseEvent {
  event: string;
  data: string;
}

/** Splits an SSE byte stream into events (https://html.spec.whatwg.org/#parsing-an-event-stream). */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let pending = "";
  let event = "";
  let data: string[] = [];
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let eol: number;
    while ((eol = pending.search(/\r\n|\r|\n/)) >= 0) {
      // A CR that ends the chunk may be the first half of a CRLF: wait for the next byte.
      if (eol === pending.length - 1 && pending[eol] === "\r") break;
      const line = pending.slice(0, eol);
      pending = pending.slice(eol + (pending.startsWith("\r\n", eol) ? 2 : 1));
      if (line === "") {
        if (data.length > 0) yield { event: event || "message", data: data.join("\n") };
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // a comment: heartbeat
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      // `id:` repeats the revision, which the data carries too; `retry:` is ours to decide.
    }
  }
}

/** The SSE JSON as an event; `undefined` for kinds this client does not know. */
export function eventFromSse(json: SseData): KvWatchEvent | undefined {
  switch (json.type) {
    case "ready":
      return { type: "ready" };
    case "set":
      return { type: "set", key: json.key ?? "", value: new KvValue(fromBase64Url(json.value ?? "")), revision: Number(json.revision) };
    case "del":
      return { type: "del", key: json.key ?? "", revision: Number(json.revision) };
    case "flush":
      return { type: "flush", revision: Number(json.revision) };
    default:
      return undefined;
  }
}

/** Opens SSE watch streams for {@link ResumingWatch}. */
export class SseWatchConnector implements WatchConnector {
  constructor(private readonly target: SseTarget) {}

  async *connect(since: number | undefined, signal: AbortSignal): AsyncGenerator<KvWatchEvent> {
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    signal.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => controller.abort(), this.target.connectTimeoutMs);
    try {
      let res: Response;
      try {
        res = await fetch(this.target.url(since), { headers: this.target.headers(), signal: controller.signal });
      } catch (error) {
        if (signal.aborted) return;
        throw new KvConnectionError(`watch request failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
      if (res.status !== 200 || res.body === null) throw await errorFromResponse(res);
      try {
        for await (const { event, data } of sseEvents(res.body)) {
          const json = JSON.parse(data) as SseData;
          if (event === "error") {
            // The stream failed after it started (shard gone, fell behind): resume.
            throw new KvServerError(json.error?.code ?? "error", json.error?.message ?? data);
          }
          const kvEvent = eventFromSse(json);
          if (kvEvent) yield kvEvent;
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof KvServerError) throw error;
        throw new KvConnectionError(`watch stream broke: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      controller.abort();
    }
  }

  isFatal(error: unknown): boolean {
    if (error instanceof KvAuthError) return true;
    if (!(error instanceof KvServerError)) return false;
    if (error.status !== undefined) return FATAL_STATUS.has(error.status);
    return error.code === "gone" || error.code === "invalid_request";
  }
}
