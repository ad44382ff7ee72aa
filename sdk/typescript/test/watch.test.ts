// watch() on both backends: key and prefix watches, SINCE replay, close/abort, and resumption
// without gaps or duplicates across a SIGKILL of the gateway and of a shard.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KvConflictError, createKvClient, type KvClient, type KvWatch, type KvWatchEvent } from "@beyond.dev/kv";
import { TestServer, type ChildName } from "./server.js";

const server = await TestServer.start();
after(() => server.stop());

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Reads a watch with time limits, keeping a pending next() across calls so no event is lost. */
class Reader {
  #pending: Promise<IteratorResult<KvWatchEvent, undefined>> | undefined;
  constructor(readonly watch: KvWatch) {}

  /** The next event, `"timeout"` after `ms`, or `"done"` when the watch ended. */
  async next(ms: number): Promise<KvWatchEvent | "timeout" | "done"> {
    this.#pending ??= this.watch.next();
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([this.#pending, new Promise<"timeout">((res) => (timer = setTimeout(() => res("timeout"), Math.max(0, ms))))]);
    clearTimeout(timer);
    if (r === "timeout") return r;
    this.#pending = undefined;
    return r.done ? "done" : r.value;
  }

  /** Events until `done(events)` holds; fails after `timeoutMs`. */
  async collect(done: (events: KvWatchEvent[]) => boolean, timeoutMs = 20_000): Promise<KvWatchEvent[]> {
    const events: KvWatchEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    while (!done(events)) {
      const e = await this.next(deadline - Date.now());
      if (e === "timeout" || e === "done") throw new Error(`watch: ${e === "done" ? "ended early" : "timed out"}; got ${JSON.stringify(events.map(show))}`);
      events.push(e);
    }
    return events;
  }

  /** Whatever else arrives until `quietMs` pass without an event. */
  async drain(quietMs = 500): Promise<KvWatchEvent[]> {
    const events: KvWatchEvent[] = [];
    for (;;) {
      const e = await this.next(quietMs);
      if (e === "timeout" || e === "done") return events;
      events.push(e);
    }
  }
}

function show(e: KvWatchEvent): string {
  if (e.type === "set") return `set ${e.key}=${e.value.byteLength > 40 ? `<${e.value.byteLength} bytes>` : e.value.text()} @${e.revision}`;
  if (e.type === "del") return `del ${e.key} @${e.revision}`;
  if (e.type === "flush") return `flush @${e.revision}`;
  return e.type;
}

/** Each expected key set exactly once (with its value), in strictly increasing revision order. */
function assertExactlyOnce(events: KvWatchEvent[], expected: Map<string, string>): void {
  const sets = events.filter((e): e is Extract<KvWatchEvent, { type: "set" }> => e.type === "set");
  const seen = new Map<string, number>();
  for (const e of sets) seen.set(e.key, (seen.get(e.key) ?? 0) + 1);
  for (const [key, value] of expected) {
    assert.equal(seen.get(key), 1, `${key} delivered ${seen.get(key) ?? 0} times; events: ${events.map(show).join(", ")}`);
    assert.equal(sets.find((e) => e.key === key)?.value.text(), value);
  }
  assert.equal(sets.length, expected.size, `no unexpected events: ${sets.map(show).join(", ")}`);
  const revisions = events.filter((e) => e.type !== "ready").map((e) => (e as { revision: number }).revision);
  for (let i = 1; i < revisions.length; i++) assert.ok(revisions[i]! > revisions[i - 1]!, `revisions increase: ${revisions.join(", ")}`);
}

/** Writes a fresh key once even if the connection fails meanwhile (nx makes a retry harmless). */
async function writeOnce(kv: KvClient, key: string, value: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await kv.set(key, value, { nx: true, timeoutMs: 2000 });
      return;
    } catch (error) {
      if (error instanceof KvConflictError) return; // an earlier attempt was applied
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

for (const backend of ["resp", "http"] as const) {
  const other = backend === "resp" ? "http" : "resp";
  const gateway: ChildName = backend === "resp" ? "kv-resp-gateway" : "kv-http-gateway";
  const t = (name: string): string => `[${backend}] watch: ${name}`;

  describe(`${backend} watch`, () => {
    let kv: KvClient;
    let viaOther: KvClient;
    before(() => {
      kv = createKvClient({ url: backend === "resp" ? server.respUrl : server.httpUrl, db: 4 });
      viaOther = createKvClient({ url: other === "resp" ? server.respUrl : server.httpUrl, db: 4 });
    });
    after(() => Promise.all([kv.close(), viaOther.close()]));

    test(t("a key: current value, ready, then each write in order"), async () => {
      const key = `${backend}:k1`;
      await kv.set(key, "initial");
      const initial = await kv.get(key);
      const watch = kv.watch(key);
      const reader = new Reader(watch);
      try {
        const start = await reader.collect((e) => e.length >= 2);
        assert.deepEqual(start.map(show), [`set ${key}=initial @${initial?.revision}`, "ready"]);
        await kv.set(key, "one");
        await kv.set(`${key}-other`, "not watched");
        await kv.set(key, ALL_BYTES);
        await kv.delete(key);
        await kv.set(key, "three");
        const events = await reader.collect((e) => e.length >= 4);
        assert.deepEqual(
          events.map((e) => (e.type === "set" ? `set ${e.key}` : `${e.type} ${"key" in e ? e.key : ""}`)),
          [`set ${key}`, `set ${key}`, `del ${key}`, `set ${key}`],
        );
        assert.equal((events[0] as { value: { text(): string } }).value.text(), "one");
        assert.deepEqual((events[1] as { value: { bytes(): Uint8Array } }).value.bytes(), ALL_BYTES, "binary value intact");
        assert.equal((events[3] as { value: { text(): string } }).value.text(), "three");
        assert.equal(watch.lastRevision, (await kv.get(key))?.revision);
      } finally {
        await watch.close();
      }
    });

    test(t("a missing key starts with ready"), async () => {
      const watch = kv.watch(`${backend}:missing`);
      const reader = new Reader(watch);
      try {
        assert.deepEqual((await reader.collect((e) => e.length >= 1)).map(show), ["ready"]);
      } finally {
        await watch.close();
      }
    });

    test(t("a prefix: ready, then only keys under it, with full keys"), async () => {
      const prefix = `${backend}:p:`;
      await kv.set(`${prefix}before`, "old");
      const watch = kv.watch(prefix, { prefix: true });
      const reader = new Reader(watch);
      try {
        assert.deepEqual((await reader.collect((e) => e.length >= 1)).map(show), ["ready"]);
        await kv.set(`${prefix}a`, "1");
        await kv.set(`${backend}:q:a`, "outside");
        await viaOther.set(`${prefix}b`, "2");
        await kv.delete(`${prefix}a`);
        await kv.set(`${prefix}c/d`, "3");
        const events = await reader.collect((e) => e.length >= 4);
        assert.deepEqual(
          events.map((e) => show(e).replace(/ @\d+$/, "")),
          [`set ${prefix}a=1`, `set ${prefix}b=2`, `del ${prefix}a`, `set ${prefix}c/d=3`],
        );
      } finally {
        await watch.close();
      }
    });

    test(t("since: replays every later change in order, then ready, then live"), async () => {
      const prefix = `${backend}:since:`;
      await kv.set(`${prefix}0`, "zero");
      const r0 = (await kv.get(`${prefix}0`))!.revision;
      await kv.set(`${prefix}1`, "one");
      await kv.set(`${prefix}2`, "two");
      await kv.delete(`${prefix}1`);
      const watch = kv.watch(prefix, { prefix: true, since: r0 });
      const reader = new Reader(watch);
      try {
        const replay = await reader.collect((e) => e.some((x) => x.type === "ready"));
        assert.deepEqual(
          replay.map((e) => show(e).replace(/ @\d+$/, "")),
          [`set ${prefix}1=one`, `set ${prefix}2=two`, `del ${prefix}1`, "ready"],
        );
        await kv.set(`${prefix}3`, "three");
        const live = await reader.collect((e) => e.length >= 1);
        assert.equal(show(live[0]!).replace(/ @\d+$/, ""), `set ${prefix}3=three`);
      } finally {
        await watch.close();
      }
    });

    test(t("close(), break and an AbortSignal end the iteration"), async () => {
      const key = `${backend}:close`;
      const w1 = kv.watch(key);
      const pending = (async () => {
        const got: KvWatchEvent[] = [];
        for await (const e of w1) got.push(e);
        return got;
      })();
      await sleep(300);
      await w1.close();
      assert.deepEqual((await pending).map(show), ["ready"]);

      const ctl = new AbortController();
      const w2 = kv.watch(key, { signal: ctl.signal });
      setTimeout(() => ctl.abort(), 300);
      const got: KvWatchEvent[] = [];
      for await (const e of w2) got.push(e);
      assert.deepEqual(got.map(show), ["ready"]);

      const w3 = kv.watch(key);
      for await (const e of w3) {
        assert.equal(e.type, "ready");
        break;
      }
      assert.deepEqual(await w3.next(), { done: true, value: undefined });
    });

    test(t(`survives SIGKILL of ${gateway}: writes made meanwhile arrive exactly once, in order`), async () => {
      const prefix = `${backend}:gwkill:`;
      const expected = new Map<string, string>();
      const watch = kv.watch(prefix, { prefix: true });
      const reader = new Reader(watch);
      try {
        await reader.collect((e) => e.length >= 1); // ready
        for (let i = 0; i < 3; i++) {
          await kv.set(`${prefix}before-${i}`, `b${i}`);
          expected.set(`${prefix}before-${i}`, `b${i}`);
        }
        const first = await reader.collect((e) => e.length >= 3);
        await server.killChild(gateway, {
          during: async () => {
            // The other gateway is up: these land while the watch is disconnected.
            for (let i = 0; i < 5; i++) {
              await writeOnce(viaOther, `${prefix}during-${i}`, `d${i}`);
              expected.set(`${prefix}during-${i}`, `d${i}`);
            }
          },
        });
        for (let i = 0; i < 3; i++) {
          await writeOnce(kv, `${prefix}after-${i}`, `a${i}`);
          expected.set(`${prefix}after-${i}`, `a${i}`);
        }
        const rest = await reader.collect((e) => e.filter((x) => x.type === "set").length >= 8);
        assertExactlyOnce([...first, ...rest, ...(await reader.drain())], expected);
        assert.ok(watch.reconnects >= 1, "it reconnected");
      } finally {
        await watch.close();
      }
    });

    test(t("survives SIGKILL of a kv-shard: every write arrives exactly once, in order"), async () => {
      const prefix = `${backend}:shardkill:`;
      const expected = new Map<string, string>();
      const watch = kv.watch(prefix, { prefix: true });
      const reader = new Reader(watch);
      try {
        await reader.collect((e) => e.length >= 1);
        for (let i = 0; i < 4; i++) {
          await kv.set(`${prefix}before-${i}`, `b${i}`);
          expected.set(`${prefix}before-${i}`, `b${i}`);
        }
        const first = await reader.collect((e) => e.length >= 4);
        await server.killChild("kv-shard", {
          shard: 0,
          during: async () => {
            // Keys on both shards; those of the dead shard are retried until it is back.
            await Promise.all(
              Array.from({ length: 6 }, async (_, i) => {
                await writeOnce(viaOther, `${prefix}during-${i}`, `d${i}`);
                expected.set(`${prefix}during-${i}`, `d${i}`);
              }),
            );
          },
        });
        for (let i = 0; i < 4; i++) {
          await writeOnce(kv, `${prefix}after-${i}`, `a${i}`);
          expected.set(`${prefix}after-${i}`, `a${i}`);
        }
        const rest = await reader.collect((e) => e.filter((x) => x.type === "set").length >= 10, 40_000);
        assertExactlyOnce([...first, ...rest, ...(await reader.drain())], expected);
      } finally {
        await watch.close();
      }
    });

    test(t(`no event delivered yet when ${gateway} dies: the writes made meanwhile still arrive`), async () => {
      const prefix = `${backend}:fresh:`;
      const expected = new Map<string, string>();
      const watch = kv.watch(prefix, { prefix: true });
      const reader = new Reader(watch);
      try {
        assert.deepEqual((await reader.collect((e) => e.length >= 1)).map(show), ["ready"]);
        await server.killChild(gateway, {
          during: async () => {
            for (let i = 0; i < 3; i++) {
              await writeOnce(viaOther, `${prefix}${i}`, `v${i}`);
              expected.set(`${prefix}${i}`, `v${i}`);
            }
          },
        });
        const events = await reader.collect((e) => e.length >= 3);
        assertExactlyOnce([...events, ...(await reader.drain())], expected);
      } finally {
        await watch.close();
      }
    });
  });
}
