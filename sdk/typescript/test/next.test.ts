// @beyond.dev/kv/next: a client from environment variables, both naming schemes, cached.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { KvArgumentError } from "@beyond.dev/kv";
import { closeServerKvClient, createServerKvClient, kvOptionsFromEnv } from "@beyond.dev/kv/next";
import { TestServer } from "./server.js";

const server = await TestServer.start({ httpToken: "tok" });
after(() => server.stop());

test("next: kvOptionsFromEnv reads KV_* (KV_URL, KV_DB, KV_TOKEN, KV_PASSWORD)", () => {
  assert.deepEqual(kvOptionsFromEnv({ KV_URL: "redis://h:1", KV_DB: "3", KV_TOKEN: "t", KV_PASSWORD: "p" }), {
    url: "redis://h:1",
    db: 3,
    token: "t",
    password: "p",
  });
  assert.deepEqual(kvOptionsFromEnv({ KV_URL: "http://h", KV_NAMESPACE: "4" }), { url: "http://h", db: 4 });
});

test("next: kvOptionsFromEnv reads BEYOND_KV_* (URL, DB/NAMESPACE, TOKEN); KV_* win", () => {
  assert.deepEqual(kvOptionsFromEnv({ BEYOND_KV_URL: "http://b", BEYOND_KV_NAMESPACE: "5", BEYOND_KV_TOKEN: "bt" }), {
    url: "http://b",
    db: 5,
    token: "bt",
  });
  assert.deepEqual(kvOptionsFromEnv({ BEYOND_KV_URL: "http://b", BEYOND_KV_DB: "6" }), { url: "http://b", db: 6 });
  assert.equal(kvOptionsFromEnv({ KV_URL: "redis://a", BEYOND_KV_URL: "http://b" }).url, "redis://a");
  assert.throws(() => kvOptionsFromEnv({}), KvArgumentError);
  assert.throws(() => kvOptionsFromEnv({ KV_URL: "redis://a", KV_DB: "x" }), KvArgumentError);
});

test("next: createServerKvClient with KV_* talks to the server and is cached per process", async () => {
  process.env.KV_URL = server.respUrl;
  process.env.KV_DB = "9";
  try {
    const kv = createServerKvClient();
    assert.equal(createServerKvClient(), kv, "one client per process");
    assert.equal(kv.backend, "resp");
    assert.equal(kv.db, 9);
    await kv.set("next", "from env");
    assert.equal((await kv.get("next"))?.value.text(), "from env");
  } finally {
    await closeServerKvClient();
    delete process.env.KV_URL;
    delete process.env.KV_DB;
  }
});

test("next: createServerKvClient with BEYOND_KV_* (HTTP, namespace, token)", async () => {
  process.env.BEYOND_KV_URL = server.httpUrl;
  process.env.BEYOND_KV_NAMESPACE = "9";
  process.env.BEYOND_KV_TOKEN = "tok";
  try {
    const kv = createServerKvClient();
    assert.equal(kv.backend, "http");
    assert.equal((await kv.get("next"))?.value.text(), "from env", "same namespace 9 the RESP client wrote");
  } finally {
    await closeServerKvClient();
    delete process.env.BEYOND_KV_URL;
    delete process.env.BEYOND_KV_NAMESPACE;
    delete process.env.BEYOND_KV_TOKEN;
  }
});
