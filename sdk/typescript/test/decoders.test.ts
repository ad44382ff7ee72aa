// Unit tests of the two stream decoders (no server): the RESP3 reader and the SSE splitter,
// fed in every possible chunking.
import assert from "node:assert/strict";
import { test } from "node:test";
import { sseEvents } from "../dist/http-watch.js";
import { Resp3ErrorReply, Resp3Map, Resp3Push, Resp3Reader, encodeCommand, type Resp3Value } from "../dist/resp3.js";
import { eventFromPush } from "../dist/resp-watch.js";

const hello = "%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n";
const setFrame = ">5\r\n$5\r\nwatch\r\n$3\r\nset\r\n$3\r\na/b\r\n$4\r\n\x00\r\n\xff\r\n$13\r\n1857146388545\r\n";
const ready = ">2\r\n$5\r\nwatch\r\n$5\r\nready\r\n";
const misc = "-CONFLICT revision mismatch\r\n_\r\n$-1\r\n*2\r\n:-7\r\n#t\r\n:9007199254740993\r\n|1\r\n+a\r\n+b\r\n+after-attribute\r\n";

function readAll(chunks: Buffer[]): Resp3Value[] {
  const reader = new Resp3Reader();
  const out: Resp3Value[] = [];
  for (const chunk of chunks) {
    reader.feed(chunk);
    for (let v = reader.read(); v !== undefined; v = reader.read()) out.push(v);
  }
  return out;
}

test("decoders: RESP3 reader, whole and split at every byte", () => {
  const bytes = Buffer.from(hello + setFrame + ready + misc, "latin1");
  const whole = readAll([bytes]);
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(readAll([bytes.subarray(0, cut), bytes.subarray(cut)]), whole, `split at ${cut}`);
  }
  assert.deepEqual(readAll([...bytes].map((b) => Buffer.from([b]))), whole, "one byte at a time");
  assert.equal(whole.length, 9);
  assert.ok(whole[0] instanceof Resp3Map);
  assert.equal((whole[0] as Resp3Map).entries[1]?.[1], 3);
  const set = eventFromPush(whole[1] as Resp3Push);
  assert.equal(set?.type, "set");
  if (set?.type === "set") {
    assert.equal(set.key, "a/b");
    assert.deepEqual(set.value.bytes(), Uint8Array.from([0, 13, 10, 255]), "binary value with CRLF inside");
    assert.equal(set.revision, 1857146388545);
  }
  assert.deepEqual(eventFromPush(whole[2] as Resp3Push), { type: "ready" });
  assert.ok(whole[3] instanceof Resp3ErrorReply && whole[3].message.startsWith("CONFLICT"));
  assert.equal(whole[4], null);
  assert.equal(whole[5], null);
  assert.deepEqual(whole[6], [-7, true]);
  assert.equal(whole[7], 9007199254740993n, "integers beyond 2^53 stay exact as bigint");
  assert.equal(whole[8], "after-attribute", "attributes are skipped");
  assert.equal(eventFromPush(new Resp3Push([Buffer.from("watch"), Buffer.from("heartbeat")])), undefined);
  assert.equal(encodeCommand(["SET", "k", Uint8Array.from([0, 10])]).toString("latin1"), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\x00\n\r\n");
});

test("decoders: SSE splitter, LF and CRLF, comments, multi-line data, split at every byte", async () => {
  const text = 'id: 5\ndata: {"type":"set"}\n\n: heartbeat\n\ndata: {"type":"ready"}\r\n\r\nevent: error\ndata: {"a":\ndata: 1}\n\ndata: x\r\ndata: y\r\n\r\n';
  const bytes = new TextEncoder().encode(text);
  const read = async (chunks: Uint8Array[]): Promise<Array<{ event: string; data: string }>> => {
    const out: Array<{ event: string; data: string }> = [];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const c of chunks) controller.enqueue(c);
        controller.close();
      },
    });
    for await (const e of sseEvents(body)) out.push(e);
    return out;
  };
  const whole = await read([bytes]);
  assert.deepEqual(whole, [
    { event: "message", data: '{"type":"set"}' },
    { event: "message", data: '{"type":"ready"}' },
    { event: "error", data: '{"a":\n1}' },
    { event: "message", data: "x\ny" },
  ]);
  for (let cut = 1; cut < bytes.length; cut++) {
    assert.deepEqual(await read([bytes.subarray(0, cut), bytes.subarray(cut)]), whole, `split at ${cut}`);
  }
});
