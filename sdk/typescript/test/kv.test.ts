// Every KvClient method against both backends on one real beyond-kv.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  KvAbortError,
  KvArgumentError,
  KvConflictError,
  KvConnectionError,
  KvServerError,
  KvTimeoutError,
  KvUnsupportedError,
  KvValue,
  createKvClient,
  type KvClient,
} from "@beyond.dev/kv";
import { TestServer, blackhole, freePort } from "./server.js";

const server = await TestServer.start();
after(() => server.stop());

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const backend of ["resp", "http"] as const) {
  const url = (): string => (backend === "resp" ? server.respUrl : server.httpUrl);
  const db = backend === "resp" ? 1 : 2;
  const t = (name: string): string => `[${backend}] ${name}`;

  describe(`${backend} backend`, () => {
    let kv: KvClient;
    before(async () => {
      kv = createKvClient({ url: url(), db });
      await kv.flush();
    });
    after(() => kv.close());

    test(t("get/set text, bytes, JSON; missing key is null"), async () => {
      assert.equal(kv.backend, backend);
      assert.equal(await kv.get("nope"), null);
      await kv.set("text", "héllo wörld ✓");
      const e = await kv.get("text");
      assert.ok(e);
      assert.equal(e.value.text(), "héllo wörld ✓");
      assert.equal(String(e.value), "héllo wörld ✓");
      assert.ok(Number.isSafeInteger(e.revision) && e.revision > 0);
      assert.equal(e.ttl, undefined);
      assert.equal(e.metadata, undefined);
      await kv.set("json", JSON.stringify({ a: [1, 2], b: null }));
      assert.deepEqual((await kv.get("json"))?.value.json(), { a: [1, 2], b: null });
      await kv.set("empty", "");
      assert.equal((await kv.get("empty"))?.value.byteLength, 0);
      await kv.set("odd key/with?chars %20 & ünïcode", "x");
      assert.equal((await kv.get("odd key/with?chars %20 & ünïcode"))?.value.text(), "x");
    });

    test(t("binary values round-trip (all 256 byte values) via set/get, mset/mget, getSet, getDel"), async () => {
      await kv.set("bin", ALL_BYTES);
      assert.deepEqual((await kv.get("bin"))?.value.bytes(), ALL_BYTES);
      assert.ok((await kv.get("bin"))?.value.equals(ALL_BYTES));
      const reversed = ALL_BYTES.slice().reverse();
      await kv.mset([["bin1", ALL_BYTES], ["bin2", reversed]]);
      const [a, b] = await kv.mget(["bin1", "bin2"]);
      assert.deepEqual(a?.value.bytes(), ALL_BYTES);
      assert.deepEqual(b?.value.bytes(), reversed);
      assert.deepEqual((await kv.getSet("bin1", reversed))?.value.bytes(), ALL_BYTES);
      assert.deepEqual((await kv.getDel("bin1"))?.value.bytes(), reversed);
      assert.deepEqual((await kv.getEx("bin2", { ttl: 100 }))?.value.bytes(), reversed);
    });

    test(t("TTL: set with ttl / ttlMs and read back; plain set clears it; keepTtl keeps it"), async () => {
      await kv.set("ttl", "v", { ttl: 100 });
      const e = await kv.get("ttl");
      assert.equal(e?.ttl, 100);
      assert.ok(e?.ttlMs !== undefined && e.ttlMs > 99_000 && e.ttlMs <= 100_000, `ttlMs ${e?.ttlMs}`);
      assert.equal(await kv.ttl("ttl"), 100);
      const ms = await kv.ttlMs("ttl");
      assert.ok(ms !== null && ms > 99_000 && ms <= 100_000);
      await kv.set("ttlms", "v", { ttlMs: 4500 });
      const e2 = await kv.get("ttlms");
      assert.ok(e2?.ttlMs !== undefined && e2.ttlMs > 4000 && e2.ttlMs <= 4500);
      assert.ok(e2?.ttl === 4 || e2?.ttl === 5);
      await kv.set("ttl", "v2", { keepTtl: true });
      assert.equal(await kv.ttl("ttl"), 100);
      await kv.set("ttl", "v3");
      assert.equal(await kv.ttl("ttl"), Infinity, "a plain set clears the expiry");
      assert.equal((await kv.get("ttl"))?.ttl, undefined);
    });

    test(t("conventions: expired key reads null; ttl of missing = null, of persistent = Infinity"), async () => {
      await kv.set("short", "v", { ttlMs: 200 });
      assert.equal((await kv.get("short"))?.value.text(), "v");
      await sleep(400);
      assert.equal(await kv.get("short"), null);
      assert.equal(await kv.exists("short"), false);
      assert.equal(await kv.ttl("short"), null);
      assert.equal(await kv.ttlMs("missing"), null);
      await kv.set("forever", "v");
      assert.equal(await kv.ttl("forever"), Infinity);
      assert.equal(await kv.ttlMs("forever"), Infinity);
    });

    test(t("nx / xx: success and KvConflictError with the reason, nothing written"), async () => {
      await kv.set("nx", "first", { nx: true });
      await assert.rejects(kv.set("nx", "second", { nx: true }), (err: unknown) => err instanceof KvConflictError && err.reason === "nx" && err.key === "nx");
      assert.equal((await kv.get("nx"))?.value.text(), "first");
      await assert.rejects(kv.set("xx-missing", "v", { xx: true }), (err: unknown) => err instanceof KvConflictError && err.reason === "xx");
      assert.equal(await kv.get("xx-missing"), null);
      await kv.set("nx", "third", { xx: true });
      assert.equal((await kv.get("nx"))?.value.text(), "third");
      await assert.rejects(kv.set("nx", "v", { nx: true, xx: true }), KvArgumentError);
    });

    test(t("compare-and-set: 5 successes in a row, then conflicts leave value and revision alone"), async () => {
      const created = await kv.set("cas", "v0", { ifMatch: 0 });
      assert.ok(created.revision !== undefined && created.revision > 0);
      assert.equal((await kv.get("cas"))?.revision, created.revision);
      let rev = created.revision;
      for (let i = 1; i <= 5; i++) {
        const r = await kv.set("cas", `v${i}`, { ifMatch: rev });
        assert.ok(r.revision !== undefined && r.revision > rev, "revision grows");
        rev = r.revision;
        const e = await kv.get("cas");
        assert.equal(e?.value.text(), `v${i}`);
        assert.equal(e?.revision, rev);
      }
      await assert.rejects(kv.set("cas", "stale", { ifMatch: created.revision }), (err: unknown) => err instanceof KvConflictError && err.reason === "ifMatch");
      await assert.rejects(kv.set("cas", "exists", { ifMatch: 0 }), KvConflictError);
      const after = await kv.get("cas");
      assert.equal(after?.value.text(), "v5");
      assert.equal(after?.revision, rev, "a failed CAS leaves the revision unchanged");
      await assert.rejects(kv.set("cas-missing", "v", { ifMatch: 12345 }), KvConflictError);
      assert.equal(await kv.get("cas-missing"), null);
      const withTtl = await kv.set("cas", "ttl", { ifMatch: rev, ttl: 30 });
      assert.equal((await kv.get("cas"))?.ttl, 30);
      assert.ok(withTtl.revision !== undefined && withTtl.revision > rev);
    });

    test(t("concurrent compare-and-set increments from 4 connections lose no update"), async () => {
      const clients = Array.from({ length: 4 }, () => createKvClient({ url: url(), db }));
      try {
        await kv.set("cas-race", "0");
        let conflicts = 0;
        await Promise.all(
          clients.map(async (c) => {
            for (let done = 0; done < 10; ) {
              const e = await c.get("cas-race");
              assert.ok(e);
              try {
                await c.set("cas-race", String(Number(e.value.text()) + 1), { ifMatch: e.revision });
                done++;
              } catch (error) {
                if (!(error instanceof KvConflictError)) throw error;
                conflicts++;
              }
            }
          }),
        );
        assert.equal((await kv.get("cas-race"))?.value.text(), "40", `${conflicts} conflicts retried`);
      } finally {
        await Promise.all(clients.map((c) => c.close()));
      }
    });

    test(t("incr / decr; non-integer value is a KvServerError"), async () => {
      assert.equal(await kv.incr("counter"), 1);
      assert.equal(await kv.incr("counter", 10), 11);
      assert.equal(await kv.decr("counter"), 10);
      assert.equal(await kv.decr("counter", 15), -5);
      assert.equal(await kv.incr("counter", -5), -10);
      assert.equal((await kv.get("counter"))?.value.text(), "-10");
      await kv.set("notnum", "abc");
      await assert.rejects(kv.incr("notnum"), (err: unknown) => err instanceof KvServerError && err.serverMessage.length > 0);
      await assert.rejects(kv.decr("notnum"), KvServerError);
      assert.equal((await kv.get("notnum"))?.value.text(), "abc");
      await assert.rejects(kv.incr("counter", 1.5), KvArgumentError);
    });

    test(t("delete and exists"), async () => {
      await kv.set("del", "v");
      assert.equal(await kv.exists("del"), true);
      assert.equal(await kv.delete("del"), true);
      assert.equal(await kv.exists("del"), false);
      assert.equal(await kv.delete("del"), false);
      assert.equal(await kv.get("del"), null);
    });

    test(t("getDel / getSet / getEx"), async () => {
      await kv.set("gd", "v", { ttl: 50 });
      const before = await kv.get("gd");
      const old = await kv.getDel("gd");
      assert.equal(old?.value.text(), "v");
      assert.equal(old?.revision, before?.revision, "getDel reports the revision the entry had");
      assert.equal(old?.ttl, 50);
      assert.equal(await kv.get("gd"), null);
      assert.equal(await kv.getDel("gd"), null);

      assert.equal(await kv.getSet("gs", "one"), null);
      await kv.expire("gs", { ttl: 100 });
      const prev = await kv.getSet("gs", "two");
      assert.equal(prev?.value.text(), "one");
      assert.equal(prev?.ttl, 100);
      const now = await kv.get("gs");
      assert.equal(now?.value.text(), "two");
      assert.equal(now?.ttl, undefined, "getSet clears the expiry, like SET");

      assert.equal(await kv.getEx("gx-missing", { ttl: 10 }), null);
      await kv.set("gx", "val");
      const g1 = await kv.getEx("gx", { ttl: 77 });
      assert.equal(g1?.value.text(), "val");
      assert.equal(g1?.ttl, 77);
      assert.equal(await kv.ttl("gx"), 77);
      const g2 = await kv.getEx("gx", { ttlMs: 9000 });
      assert.ok(g2?.ttlMs !== undefined && g2.ttlMs <= 9000 && g2.ttlMs > 8000);
      const g3 = await kv.getEx("gx", { at: new Date(Date.now() + 60_000) });
      assert.ok(g3?.ttl === 60 || g3?.ttl === 59, `ttl ${g3?.ttl}`);
      const g4 = await kv.getEx("gx", { persist: true });
      assert.equal(g4?.ttl, undefined);
      assert.equal(await kv.ttl("gx"), Infinity);
      assert.equal((await kv.getEx("gx"))?.value.text(), "val");
    });

    test(t("expire variants: ttl, ttlMs, at (Date and ms), persist, missing key, ttl 0 deletes"), async () => {
      await kv.set("ex", "v");
      assert.equal(await kv.expire("ex", { ttl: 30 }), true);
      assert.equal(await kv.ttl("ex"), 30);
      assert.equal(await kv.expire("ex", { ttlMs: 20_000 }), true);
      assert.equal(await kv.ttl("ex"), 20);
      assert.equal(await kv.expire("ex", { at: new Date(Date.now() + 40_000) }), true);
      const s = await kv.ttl("ex");
      assert.ok(s === 40 || s === 39, `ttl ${s}`);
      assert.equal(await kv.expire("ex", { at: Date.now() + 10_000 }), true);
      assert.ok(((await kv.ttl("ex")) ?? 0) <= 10);
      assert.equal(await kv.expire("ex", { persist: true }), true);
      assert.equal(await kv.ttl("ex"), Infinity);
      assert.equal(await kv.expire("ex", { persist: true }), true, "persist on a key without expiry: it exists");
      assert.equal(await kv.expire("ex-missing", { ttl: 10 }), false);
      assert.equal(await kv.expire("ex-missing", { persist: true }), false);
      assert.equal(await kv.expire("ex", { ttl: 0 }), true);
      assert.equal(await kv.get("ex"), null, "an expiry of 0 deletes the key");
      await assert.rejects(kv.expire("ex", {}), KvArgumentError);
      await assert.rejects(kv.expire("ex", { ttl: 1, persist: true }), KvArgumentError);
    });

    test(t("mget / mset (record, pairs, ttl)"), async () => {
      await kv.mset({ "m:a": "1", "m:b": "2" });
      await kv.mset([["m:c", "3"]], { ttl: 60 });
      const got = await kv.mget(["m:a", "m:missing", "m:b", "m:c"]);
      assert.deepEqual(
        got.map((e) => e?.value.text() ?? null),
        ["1", null, "2", "3"],
      );
      assert.equal(got[3]?.ttl, 60);
      assert.equal(got[0]?.ttl, undefined);
      assert.ok(got.every((e) => e === null || e.revision > 0));
      assert.deepEqual(await kv.mget([]), []);
    });

    test(t("list pagination over 1,000 keys: every key exactly once; prefixes; keys()"), async () => {
      const keys = Array.from({ length: 1000 }, (_, i) => `page:${String(i).padStart(4, "0")}`);
      for (let i = 0; i < keys.length; i += 250) await kv.mset(keys.slice(i, i + 250).map((k) => [k, "v"] as const));
      await kv.set("pagf", "not under the prefix");
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await kv.list({ prefix: "page:", limit: 37, ...(cursor === undefined ? {} : { cursor }) });
        assert.ok(page.keys.length <= 37, `page of ${page.keys.length}`);
        seen.push(...page.keys);
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== undefined);
      assert.equal(seen.length, 1000, "no key twice");
      assert.deepEqual([...seen].sort(), keys);
      assert.ok(pages >= 1000 / 37, `${pages} pages`);
      const none = await kv.list({ prefix: "no-such-prefix:" });
      assert.deepEqual(none, { keys: [] });
      const globby = await kv.list({ prefix: "page:*[" });
      assert.deepEqual(globby.keys, [], "the prefix is literal, not a glob");
      const all: string[] = [];
      for await (const k of kv.keys({ prefix: "page:00", limit: 50 })) all.push(k);
      assert.equal(all.length, 100);
    });

    test(t("count (all, under a prefix) and flush"), async () => {
      const c = createKvClient({ url: url(), db: db + 8 });
      try {
        await c.flush();
        assert.equal(await c.count(), 0);
        await c.mset(Array.from({ length: 30 }, (_, i) => [`c:${i}`, "v"] as const));
        await c.mset({ "d:1": "v", "d:2": "v" });
        assert.equal(await c.count(), 32);
        assert.equal(await c.count({ prefix: "c:" }), 30);
        assert.equal(await c.count({ prefix: "d:" }), 2);
        assert.equal(await c.count({ prefix: "zz" }), 0);
        await c.flush();
        assert.equal(await c.count(), 0);
        assert.equal(await c.get("c:1"), null);
      } finally {
        await c.close();
      }
    });

    test(t("namespaces are separate, and shared with the other backend"), async () => {
      const a = createKvClient({ url: url(), db: 5 });
      const b = createKvClient({ url: url(), namespace: 6 });
      const other = createKvClient({ url: backend === "resp" ? server.httpUrl : server.respUrl, db: 5 });
      try {
        await a.set("ns-key", `from ${backend}`);
        assert.equal(await b.get("ns-key"), null);
        assert.equal((await other.get("ns-key"))?.value.text(), `from ${backend}`);
        assert.equal((await other.get("ns-key"))?.revision, (await a.get("ns-key"))?.revision);
      } finally {
        await Promise.all([a.close(), b.close(), other.close()]);
      }
    });

    if (backend === "http") {
      test(t("metadata: stored, returned by get/mget/getDel, unicode and large (batch) metadata"), async () => {
        await kv.set("meta", "v", { metadata: { owner: "ann", tags: ["a", "b"], n: 1 } });
        const e = await kv.get("meta");
        assert.deepEqual(e?.metadata, { owner: "ann", tags: ["a", "b"], n: 1 });
        await kv.set("meta-u", "v", { metadata: { name: "zoë ✓ 日本" } });
        assert.deepEqual((await kv.get("meta-u"))?.metadata, { name: "zoë ✓ 日本" });
        const big = { blob: "x".repeat(20_000) };
        await kv.set("meta-big", "v", { metadata: big, ttl: 100 });
        const bigEntry = (await kv.mget(["meta-big"]))[0];
        assert.deepEqual(bigEntry?.metadata, big);
        assert.equal(bigEntry?.ttl, 100);
        assert.deepEqual((await kv.getDel("meta"))?.metadata, { owner: "ann", tags: ["a", "b"], n: 1 });
        await kv.set("meta-u", "v2");
        assert.equal((await kv.get("meta-u"))?.metadata, undefined, "a set without metadata replaces it");
      });
    } else {
      test(t("metadata is rejected with KvUnsupportedError before anything is sent"), async () => {
        await assert.rejects(kv.set("meta", "v", { metadata: { a: 1 } }), (err: unknown) => err instanceof KvUnsupportedError && err.backend === "resp" && /metadata/.test(err.message));
        assert.equal(await kv.get("meta"), null);
        const hole = await blackhole();
        const c = createKvClient({ url: `redis://127.0.0.1:${hole.port}`, timeoutMs: 300 });
        try {
          await assert.rejects(c.set("meta", "v", { metadata: { a: 1 } }), KvUnsupportedError);
          await sleep(100);
          assert.ok(!hole.received().includes("meta"), `nothing about the key was sent: ${JSON.stringify(hole.received())}`);
        } finally {
          await c.close().catch(() => undefined);
          await hole.close();
        }
      });
    }

    test(t("timeouts: an unanswered call rejects with KvTimeoutError near timeoutMs"), async () => {
      const hole = await blackhole();
      const c = createKvClient({ url: backend === "resp" ? `redis://127.0.0.1:${hole.port}` : `http://127.0.0.1:${hole.port}`, timeoutMs: 300 });
      try {
        const started = Date.now();
        await assert.rejects(c.get("k"), (err: unknown) => err instanceof KvTimeoutError && err.timeoutMs === 300);
        const took = Date.now() - started;
        assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
        await assert.rejects(c.set("k", "v", { timeoutMs: 100 }), KvTimeoutError);
      } finally {
        await c.close().catch(() => undefined);
        await hole.close();
      }
    });

    test(t("abort: an AbortSignal cancels a call with KvAbortError (before and during)"), async () => {
      const pre = new AbortController();
      pre.abort();
      await assert.rejects(kv.set("aborted", "v", { signal: pre.signal }), KvAbortError);
      await assert.rejects(kv.get("aborted", { signal: pre.signal }), KvAbortError);
      const hole = await blackhole();
      const c = createKvClient({ url: backend === "resp" ? `redis://127.0.0.1:${hole.port}` : `http://127.0.0.1:${hole.port}` });
      try {
        const ctl = new AbortController();
        setTimeout(() => ctl.abort(), 100);
        const started = Date.now();
        await assert.rejects(c.get("k", { signal: ctl.signal }), KvAbortError);
        assert.ok(Date.now() - started < 1000);
      } finally {
        await c.close().catch(() => undefined);
        await hole.close();
      }
    });

    test(t("a server that is not there: KvConnectionError"), async () => {
      const port = await freePort();
      const c = createKvClient({ url: backend === "resp" ? `redis://127.0.0.1:${port}` : `http://127.0.0.1:${port}`, timeoutMs: 4000 });
      try {
        await assert.rejects(c.get("k"), KvConnectionError);
      } finally {
        await c.close().catch(() => undefined);
      }
    });

    test(t("argument errors: bad options reject with KvArgumentError"), async () => {
      await assert.rejects(kv.set("k", "v", { ttl: 1, ttlMs: 1000 }), KvArgumentError);
      await assert.rejects(kv.set("k", "v", { ttl: -1 }), KvArgumentError);
      await assert.rejects(kv.set("k", "v", { ifMatch: 1, nx: true }), KvArgumentError);
      await assert.rejects(kv.get(""), KvArgumentError);
      assert.throws(() => createKvClient({ url: "ftp://x" }), KvArgumentError);
      assert.throws(() => createKvClient({ url: url(), db: 16 }), KvArgumentError);
    });
  });
}

test("KvValue helpers", () => {
  const v = KvValue.from('{"a":1}');
  assert.equal(v.text(), '{"a":1}');
  assert.deepEqual(v.json(), { a: 1 });
  assert.equal(v.byteLength, 7);
  const bytes = v.bytes();
  bytes[0] = 0;
  assert.equal(v.text(), '{"a":1}', "bytes() is a copy");
  assert.ok(v.equals('{"a":1}'));
  assert.equal(JSON.stringify({ v }), '{"v":"{\\"a\\":1}"}');
});

test("createKvClient reads the database, user and password from a redis:// URL", async () => {
  const c = createKvClient({ url: `${server.respUrl}/7` });
  try {
    assert.equal(c.db, 7);
    await c.set("url-db", "seven");
    const h = createKvClient({ url: `${server.httpUrl}?ns=7` });
    assert.equal(h.db, 7);
    assert.equal((await h.get("url-db"))?.value.text(), "seven");
    await h.close();
  } finally {
    await c.close();
  }
});
