// Credentials: a password over RESP (--requirepass) and a bearer token over HTTP
// (--http-token); wrong or missing credentials are KvAuthError on calls and on watches.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { KvAuthError, createKvClient, type KvClient, type KvClientOptions } from "@beyond.dev/kv";
import { TestServer } from "./server.js";

const PASSWORD = "s3cret pass/word";
const TOKEN = "tok-123";
const server = await TestServer.start({ requirepass: PASSWORD, httpToken: TOKEN });
after(() => server.stop());

async function withClient<T>(options: KvClientOptions, run: (kv: KvClient) => Promise<T>): Promise<T> {
  const kv = createKvClient({ timeoutMs: 3000, ...options });
  try {
    return await run(kv);
  } finally {
    await kv.close();
  }
}

describe("resp auth", () => {
  test("[resp] auth: the password from the URL (percent-encoded) works, for calls and watch", async () => {
    const url = `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${server.respPort}/3`;
    await withClient({ url }, async (kv) => {
      await kv.set("auth", "ok");
      assert.equal((await kv.get("auth"))?.value.text(), "ok");
      const watch = kv.watch("auth");
      const first = await watch.next();
      assert.equal(first.value?.type, "set");
      await watch.close();
    });
  });

  test("[resp] auth: the password option and user default work", async () => {
    await withClient({ url: `redis://default@127.0.0.1:${server.respPort}/3`, password: PASSWORD }, async (kv) => {
      assert.equal((await kv.get("auth"))?.value.text(), "ok");
    });
  });

  test("[resp] auth: a wrong password is KvAuthError", async () => {
    await withClient({ url: server.respUrl, password: "wrong" }, async (kv) => {
      await assert.rejects(kv.get("auth"), KvAuthError);
      await assert.rejects(kv.set("auth", "x"), KvAuthError);
    });
  });

  test("[resp] auth: no password is KvAuthError", async () => {
    await withClient({ url: server.respUrl }, async (kv) => {
      await assert.rejects(kv.get("auth"), KvAuthError);
    });
  });

  test("[resp] auth: a watch with a wrong password ends with KvAuthError (no retry loop)", async () => {
    await withClient({ url: server.respUrl, password: "wrong" }, async (kv) => {
      const watch = kv.watch("auth");
      await assert.rejects(watch.next(), KvAuthError);
      assert.equal(watch.reconnects, 0);
    });
  });
});

describe("http auth", () => {
  test("[http] auth: the right token works, for calls and watch", async () => {
    await withClient({ url: server.httpUrl, token: TOKEN, db: 3 }, async (kv) => {
      assert.equal((await kv.get("auth"))?.value.text(), "ok", "same keyspace as RESP db 3");
      const watch = kv.watch("auth");
      const first = await watch.next();
      assert.equal(first.value?.type, "set");
      await watch.close();
    });
  });

  test("[http] auth: a wrong token is KvAuthError", async () => {
    await withClient({ url: server.httpUrl, token: "nope" }, async (kv) => {
      await assert.rejects(kv.get("auth"), KvAuthError);
      await assert.rejects(kv.set("auth", "x"), KvAuthError);
      await assert.rejects(kv.list(), KvAuthError);
    });
  });

  test("[http] auth: no token is KvAuthError", async () => {
    await withClient({ url: server.httpUrl }, async (kv) => {
      await assert.rejects(kv.get("auth"), KvAuthError);
    });
  });

  test("[http] auth: a watch with a wrong token ends with KvAuthError (no retry loop)", async () => {
    await withClient({ url: server.httpUrl, token: "nope" }, async (kv) => {
      const watch = kv.watch("auth");
      await assert.rejects(watch.next(), KvAuthError);
      assert.equal(watch.reconnects, 0);
    });
  });
});
