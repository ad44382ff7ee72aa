/**
 * `WATCH` / `PWATCH` over RESP3: one dedicated socket per subscription that sends
 * `HELLO 3 [AUTH user pass]`, `SELECT db` and the subscription in one write, then reads push
 * frames `>5 watch set|del <key> <value> <revision>` and `>2 watch ready`.
 *
 * @module
 */

import net from "node:net";
import tls from "node:tls";
import { KvAuthError, KvConnectionError, KvError, KvServerError, isRespAuthError } from "./errors.js";
import { Resp3ErrorReply, Resp3Push, Resp3Reader, encodeCommand, type Resp3Value } from "./resp3.js";
import { KvValue, type KvWatchEvent } from "./types.js";
import type { WatchConnector } from "./watch.js";

/** Where a RESP server is and how to log in. */
export interface RespTarget {
  host: string;
  port: number;
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
  db: number;
}

/** Errors a retry cannot fix: the subscription itself is refused. */
const FATAL_WATCH_ERROR = /replay floor|RESP3|syntax error|wrong number of arguments|unknown command|not an integer|invalid/i;

/** Largest number of decoded frames held before the socket is paused. */
const HIGH_WATER = 1024;

function connectSocket(target: RespTarget, signal: AbortSignal, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = target.tls
      ? tls.connect({ host: target.host, port: target.port, servername: target.host })
      : net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => fail(new KvConnectionError(`connecting to ${target.host}:${target.port} timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = (): void => fail(new KvConnectionError("watch closed while connecting"));
    signal.addEventListener("abort", onAbort, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      socket.off("error", fail);
    }
    function fail(error: Error): void {
      done();
      socket.destroy();
      reject(error instanceof KvError ? error : new KvConnectionError(error.message, { cause: error }));
    }
    socket.once(target.tls ? "secureConnect" : "connect", () => {
      done();
      socket.setNoDelay(true);
      socket.setKeepAlive(true, 10_000);
      resolve(socket);
    });
    socket.once("error", fail);
  });
}

/** Every value the socket delivers, until it closes (return) or fails (throw). */
async function* values(socket: net.Socket, signal: AbortSignal): AsyncGenerator<Resp3Value> {
  const reader = new Resp3Reader();
  const queue: Resp3Value[] = [];
  let head = 0;
  let ended = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  socket.on("data", (chunk: Buffer) => {
    reader.feed(chunk);
    try {
      for (let v = reader.read(); v !== undefined; v = reader.read()) queue.push(v);
    } catch (error) {
      failure ??= error as Error;
      socket.destroy();
    }
    if (queue.length - head > HIGH_WATER) socket.pause();
    notify();
  });
  socket.on("error", (error: Error) => {
    failure ??= error;
    notify();
  });
  socket.on("close", () => {
    ended = true;
    notify();
  });
  const onAbort = (): void => {
    socket.destroy();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    for (;;) {
      if (head < queue.length) {
        const value = queue[head++] as Resp3Value;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
          if (socket.isPaused()) socket.resume();
        }
        yield value;
        continue;
      }
      if (signal.aborted) return;
      if (failure) throw new KvConnectionError(`watch connection failed: ${failure.message}`, { cause: failure });
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    socket.destroy();
  }
}

function text(v: Resp3Value | undefined): string {
  return Buffer.isBuffer(v) ? v.toString("utf8") : typeof v === "string" ? v : String(v);
}

/** A `>N watch <kind> ...` frame as an event; `undefined` for frames clients ignore. */
export function eventFromPush(push: Resp3Push): KvWatchEvent | undefined {
  const [channel, kind, key, value, revision] = push.items;
  if (text(channel) !== "watch") return undefined;
  switch (text(kind)) {
    case "ready":
      return { type: "ready" };
    case "set": {
      const bytes = Buffer.isBuffer(value) ? value : Buffer.from(text(value));
      return { type: "set", key: text(key), value: new KvValue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)), revision: Number(text(revision)) };
    }
    case "del":
      return { type: "del", key: text(key), revision: Number(text(revision)) };
    case "flush":
      return { type: "flush", revision: Number(text(revision)) };
    default:
      return undefined; // heartbeats and kinds this client does not know
  }
}

function replyError(reply: Resp3ErrorReply): KvError {
  if (isRespAuthError(reply.message)) return new KvAuthError(reply.message);
  return new KvServerError(reply.message.split(" ", 1)[0] ?? "ERR", reply.message);
}

/** Opens RESP3 watch subscriptions for {@link ResumingWatch}. */
export class RespWatchConnector implements WatchConnector {
  constructor(
    private readonly target: RespTarget,
    private readonly keyOrPrefix: string,
    private readonly prefix: boolean,
    private readonly connectTimeoutMs: number,
  ) {}

  async *connect(since: number | undefined, signal: AbortSignal): AsyncGenerator<KvWatchEvent> {
    const socket = await connectSocket(this.target, signal, this.connectTimeoutMs);
    const hello: Array<string | number> = ["HELLO", 3];
    if (this.target.password !== undefined) hello.push("AUTH", this.target.username ?? "default", this.target.password);
    const commands = [encodeCommand(hello)];
    let setupReplies = 1;
    if (this.target.db !== 0) {
      commands.push(encodeCommand(["SELECT", this.target.db]));
      setupReplies++;
    }
    const subscribe: Array<string | number> = [this.prefix ? "PWATCH" : "WATCH", this.keyOrPrefix];
    if (since !== undefined) subscribe.push("SINCE", String(since));
    commands.push(encodeCommand(subscribe));
    socket.write(Buffer.concat(commands));

    for await (const value of values(socket, signal)) {
      if (value instanceof Resp3Push) {
        const event = eventFromPush(value);
        if (event) yield event;
        continue;
      }
      if (setupReplies > 0) {
        setupReplies--;
        if (value instanceof Resp3ErrorReply) throw replyError(value);
        continue;
      }
      if (value instanceof Resp3ErrorReply) {
        // In place of the subscription (it could not start), or later ("fell behind ...
        // resume with SINCE"); either way this connection is done.
        throw replyError(value);
      }
      // Other replies are skipped, as the protocol allows.
    }
  }

  isFatal(error: unknown): boolean {
    if (error instanceof KvAuthError) return true;
    return error instanceof KvServerError && FATAL_WATCH_ERROR.test(error.serverMessage);
  }
}
