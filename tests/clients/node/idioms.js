// ioredis MULTI/EXEC and exact revisions from Node, side by side with redis-server where Redis
// has the feature. Usage: node idioms.js BEYOND_KV_RESP_PORT REDIS_PORT BEYOND_KV_HTTP_PORT
const Redis = require("ioredis");
const assert = require("assert");
const net = require("net");

const MAX_SAFE = Number.MAX_SAFE_INTEGER;  // 2^53 - 1

// One command over a raw socket, the integer reply as the server's exact decimal text.
function rawInteger(port, args) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      const end = buf.indexOf("\r\n");
      if (end >= 0) {
        s.end();
        if (buf[0] !== ":") return reject(new Error("not an integer reply: " + buf));
        resolve(buf.slice(1, end));
      }
    });
    s.on("error", reject);
    s.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""));
  });
}

async function multiIdioms(port) {
  const r = new Redis({ host: "127.0.0.1", port, db: 6, maxRetriesPerRequest: 1 });
  await r.flushdb();
  const out = {};
  out.multi = await r.multi().set("js:a", "1").incr("js:a").get("js:a").exec();
  out.multiError = (await r.multi().set("js:s", "x").incr("js:s").exec())
      .map(([err, v]) => (err ? String(err.message) : v));
  out.rate = await r.multi().incr("js:rate").expire("js:rate", 60).exec();
  await r.watch("js:w");
  const other = new Redis({ host: "127.0.0.1", port, db: 6 });
  await other.set("js:w", "changed");
  out.watched = await r.multi().set("js:w", "mine").exec();  // null: aborted
  out.value = await r.get("js:w");
  r.disconnect();
  other.disconnect();
  return out;
}

async function revisions(respPort, httpPort) {
  const r = new Redis({ host: "127.0.0.1", port: respPort, maxRetriesPerRequest: 1 });
  // REVISION through ioredis (a JS number) equals the server's exact text, and is safe.
  for (let i = 0; i < 20; i++) {
    await r.set(`rev:${i}`, "v");
    const viaIoredis = await r.call("REVISION", `rev:${i}`);
    const exact = await rawInteger(respPort, ["REVISION", `rev:${i}`]);
    assert.strictEqual(String(viaIoredis), exact, "ioredis REVISION");
    assert.ok(viaIoredis > 0 && viaIoredis <= MAX_SAFE, `revision ${exact} above 2^53 - 1`);
  }
  // HTTP: X-KV-Revision and batch JSON (plain JSON.parse) equal REVISION exactly.
  const base = `http://127.0.0.1:${httpPort}/v1/kv`;
  let res = await fetch(`${base}/rev%3Ahttp`, { method: "PUT", body: "v" });
  assert.strictEqual(res.status, 204);
  const header = res.headers.get("x-kv-revision");
  assert.strictEqual(header, await rawInteger(respPort, ["REVISION", "rev:http"]));
  res = await fetch(`${base}/batch`, {
    method: "POST", headers: { "content-type": "application/json" },
    body: JSON.stringify([{ op: "get", key: "rev:http" }, { op: "set", key: "rev:b", value: "dg" },
                          { op: "get", key: "rev:b" }]),
  });
  assert.strictEqual(res.status, 200);
  const results = JSON.parse(await res.text());
  assert.strictEqual(String(results[0].revision), header, "batch JSON revision");
  assert.strictEqual(String(results[2].revision), await rawInteger(respPort, ["REVISION", "rev:b"]));
  // A CAS chain of 5 over each protocol, every step using the revision as JavaScript read it.
  let rev = Number(await r.call("REVISION", "cas:resp"));
  if (rev === -2) rev = 0;
  for (let i = 0; i < 5; i++) {
    rev = await r.call("SETREV", "cas:resp", `v${i}`, String(rev));
    assert.ok(typeof rev === "number" && rev <= MAX_SAFE, "SETREV answers the new revision");
  }
  assert.strictEqual(await r.get("cas:resp"), "v4");
  let etag = "0";
  for (let i = 0; i < 5; i++) {
    res = await fetch(`${base}/cas%3Ahttp`, { method: "PUT", body: `v${i}`, headers: { "If-Match": etag } });
    assert.strictEqual(res.status, 204, `If-Match step ${i}`);
    etag = String(Number(res.headers.get("x-kv-revision")));  // through a JS number
  }
  res = await fetch(`${base}/cas%3Ahttp`);
  assert.strictEqual(await res.text(), "v4");
  r.disconnect();
}

async function main() {
  const [ours, redisPort, httpPort] = process.argv.slice(2).map(Number);
  const a = await multiIdioms(ours);
  const b = await multiIdioms(redisPort);
  assert.deepStrictEqual(a, b, "ioredis multi() differs from redis-server");
  assert.strictEqual(a.watched, null);
  await revisions(ours, httpPort);
  console.log("ioredis multi() identical to redis-server; revisions exact in JavaScript");
}

main().catch((e) => { console.error(e); process.exit(1); });
