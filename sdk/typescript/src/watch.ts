/**
 * The backend-independent half of `watch()`: reconnection with backoff and resumption after
 * the last delivered revision, so the consumer sees each change once, in revision order.
 * A backend supplies a {@link WatchConnector} that opens one subscription.
 *
 * @module
 */

import { sleep } from "./internal.js";
import type { KvWatch, KvWatchEvent, KvWatchOptions } from "./types.js";

/** Opens one subscription on one connection. */
export interface WatchConnector {
  /**
   * Subscribes (with `SINCE since` when given) and yields the events of that one connection;
   * returns when the server ends it, throws when it fails. `signal` closes it.
   */
  connect(since: number | undefined, signal: AbortSignal): AsyncIterable<KvWatchEvent>;
  /** Whether an error means retrying is pointless (bad credentials, bad arguments, ...). */
  isFatal(error: unknown): boolean;
}

/** 2026-01-01T00:00:00Z, the origin of the server's revision clock (ARCHITECTURE.md §6). */
const REVISION_EPOCH_MS = Date.UTC(2026, 0, 1);
/** How far the server's clock may lag ours without a watch missing a change (see below). */
const CLOCK_MARGIN_MS = 2000;

/**
 * A `SINCE` that replays every change made at or after wall-clock time `unixMs`.
 *
 * A revision is `(tick << 6) | shard` where `tick >= milliseconds since 2026-01-01` at the
 * time of the change (a hybrid logical clock that never runs behind wall time), so every
 * change made at or after `unixMs` has a revision of at least `(unixMs - epoch) * 64`.
 */
export function revisionFloorAt(unixMs: number): number {
  return Math.max(0, (unixMs - REVISION_EPOCH_MS) * 64 - 1);
}

/** Implements {@link KvWatch} over a connector. */
export class ResumingWatch implements KvWatch {
  readonly #connector: WatchConnector;
  readonly #controller = new AbortController();
  readonly #maxBackoffMs: number;
  readonly #events: AsyncGenerator<KvWatchEvent, undefined, undefined>;
  readonly #detachSignal: (() => void) | undefined;
  #lastRevision: number | undefined;
  /** Where to resume when no event has been delivered yet (set when the first connection is ready). */
  #resumeFloor: number | undefined;
  #readyDelivered = false;
  #reconnects = 0;
  #closed = false;

  readonly #onClose: (() => void) | undefined;

  constructor(connector: WatchConnector, options: KvWatchOptions = {}, onClose?: () => void) {
    this.#connector = connector;
    this.#onClose = onClose;
    this.#lastRevision = options.since;
    this.#maxBackoffMs = options.maxBackoffMs ?? 2000;
    this.#events = this.#run();
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) void this.close();
      const onAbort = (): void => void this.close();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#detachSignal = () => signal.removeEventListener("abort", onAbort);
    }
  }

  get lastRevision(): number | undefined {
    return this.#lastRevision;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  async *#run(): AsyncGenerator<KvWatchEvent, undefined, undefined> {
    try {
      yield* this.#resume();
    } finally {
      // Ended by close(), by the consumer leaving its loop, or by a fatal error.
      this.#closed = true;
      this.#detachSignal?.();
      this.#onClose?.();
    }
    return undefined;
  }

  async *#resume(): AsyncGenerator<KvWatchEvent, undefined, undefined> {
    let failures = 0;
    while (!this.#closed) {
      const since = this.#lastRevision ?? this.#resumeFloor;
      const startedAt = Date.now();
      try {
        for await (const event of this.#connector.connect(since, this.#controller.signal)) {
          if (this.#closed) return undefined;
          if (event.type === "ready") {
            failures = 0;
            if (this.#lastRevision === undefined && this.#resumeFloor === undefined) {
              // Nothing delivered yet: a later reconnection must still replay every change
              // made after this subscription began.
              this.#resumeFloor = revisionFloorAt(startedAt - CLOCK_MARGIN_MS);
            }
            if (!this.#readyDelivered) {
              this.#readyDelivered = true;
              yield event;
            }
            continue;
          }
          // Replays after a reconnection start strictly after #lastRevision; this guard makes
          // "no duplicate" hold even if a server repeated one.
          if (this.#lastRevision !== undefined && event.revision <= this.#lastRevision) continue;
          this.#lastRevision = event.revision;
          yield event;
        }
      } catch (error) {
        if (this.#closed) return undefined;
        if (this.#connector.isFatal(error)) throw error;
      }
      if (this.#closed) return undefined;
      const delay = Math.min(this.#maxBackoffMs, 50 * 2 ** failures) * (0.8 + 0.4 * Math.random());
      failures++;
      this.#reconnects++;
      await sleep(delay, this.#controller.signal);
    }
    return undefined;
  }

  next(): Promise<IteratorResult<KvWatchEvent, undefined>> {
    return this.#events.next();
  }

  async return(): Promise<IteratorResult<KvWatchEvent, undefined>> {
    await this.close();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<KvWatchEvent, undefined>> {
    await this.close();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#detachSignal?.();
    this.#onClose?.();
    this.#controller.abort();
    await this.#events.return(undefined);
  }
}
