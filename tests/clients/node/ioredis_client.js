// ioredis against beyond-kv: connect with a db, pipelines, SCAN paging as the Beyond KV SDK
// does (wire-protocol.md), QUIT. Usage: node ioredis_client.js PORT
const Redis = require("ioredis");
const assert = require("assert");

async function main() {
  const port = Number(process.argv[2]);
  const db3 = new Redis({ host: "127.0.0.1", port, db: 3, lazyConnect: true, maxRetriesPerRequest: 1 });
  await db3.connect();
  assert.strictEqual(await db3.set("io:k", "v3"), "OK");
  const db0 = new Redis({ host: "127.0.0.1", port, db: 0, maxRetriesPerRequest: 1 });
  assert.strictEqual(await db0.get("io:k"), null);
  assert.strictEqual(await db3.get("io:k"), "v3");

  const pipe = db3.pipeline();
  for (let i = 0; i < 250; i++) pipe.set(`io:p:${i}`, String(i));
  pipe.get("io:p:249");
  pipe.ttl("io:p:249");
  const results = await pipe.exec();
  assert.strictEqual(results.length, 252);
  assert.deepStrictEqual(results[250], [null, "249"]);
  assert.deepStrictEqual(results[251], [null, -1]);

  // SCAN paging until the cursor is "0", COUNT as an upper bound.
  let cursor = "0";
  const seen = new Set();
  do {
    const [next, keys] = await db3.scan(cursor, "MATCH", "io:p:*", "COUNT", 20);
    assert.ok(keys.length <= 20);
    keys.forEach((k) => seen.add(k));
    cursor = next;
  } while (cursor !== "0");
  assert.strictEqual(seen.size, 250);
  const [first, none] = await db3.scan("0", "MATCH", "nothing:*", "COUNT", 100);
  assert.strictEqual(first, "0");
  assert.deepStrictEqual(none, []);

  assert.strictEqual(await db3.quit(), "OK");
  assert.strictEqual(await db0.quit(), "OK");
  console.log("ioredis: all calls matched");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
