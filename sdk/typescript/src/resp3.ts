/**
 * A minimal RESP3 reader and a RESP command encoder, for the one thing ioredis cannot do:
 * a `HELLO 3` connection that receives `WATCH` / `PWATCH` push frames.
 *
 * It reads the types the server's HELLO reply and watch frames use (`+ - : _ $ * % >`) and,
 * to be safe, the other RESP3 scalars and aggregates (`# , ( = ~ |`). Bulk strings stay
 * `Buffer`s, so values are binary-safe.
 *
 * @module
 */

/** An error reply (`-ERR ...` or blob error `!`). */
export class Resp3ErrorReply {
  constructor(readonly message: string) {}
}

/** A push frame (`>`): out-of-band data such as watch events. */
export class Resp3Push {
  constructor(readonly items: Resp3Value[]) {}
}

/** A map (`%`) or attribute (`|`) reply, as its key/value pairs in order. */
export class Resp3Map {
  constructor(readonly entries: Array<[Resp3Value, Resp3Value]>) {}
}

/** One decoded RESP3 value. */
export type Resp3Value =
  | string
  | number
  | bigint
  | boolean
  | null
  | Buffer
  | Resp3ErrorReply
  | Resp3Push
  | Resp3Map
  | Resp3Value[];

/** The server sent bytes that are not RESP. The connection cannot be used further. */
export class Resp3ProtocolError extends Error {
  override name = "Resp3ProtocolError";
}

const CRLF = Buffer.from("\r\n");
const INCOMPLETE = Symbol("incomplete");
type Parsed = { value: Resp3Value; end: number } | typeof INCOMPLETE;

/**
 * Incremental reader: `feed()` bytes as they arrive, then `read()` values until it returns
 * `undefined` (a value is not complete yet).
 */
export class Resp3Reader {
  #buf: Buffer = Buffer.alloc(0);
  #pos = 0;

  feed(chunk: Buffer): void {
    if (this.#pos === this.#buf.length) {
      this.#buf = chunk;
    } else {
      this.#buf = Buffer.concat([this.#buf.subarray(this.#pos), chunk]);
    }
    this.#pos = 0;
  }

  /** The next complete value, or `undefined` when more bytes are needed. */
  read(): Resp3Value | undefined {
    const parsed = this.#parse(this.#pos);
    if (parsed === INCOMPLETE) return undefined;
    this.#pos = parsed.end;
    return parsed.value;
  }

  #line(start: number): { text: string; end: number } | typeof INCOMPLETE {
    const eol = this.#buf.indexOf(CRLF, start);
    if (eol < 0) return INCOMPLETE;
    return { text: this.#buf.toString("utf8", start, eol), end: eol + 2 };
  }

  #length(text: string): number {
    if (!/^-?\d+$/.test(text)) throw new Resp3ProtocolError(`bad length ${JSON.stringify(text)}`);
    return Number(text);
  }

  #parse(start: number): Parsed {
    if (start >= this.#buf.length) return INCOMPLETE;
    const type = String.fromCharCode(this.#buf[start] as number);
    const header = this.#line(start + 1);
    if (header === INCOMPLETE) return INCOMPLETE;
    const { text, end } = header;
    switch (type) {
      case "+":
        return { value: text, end };
      case "-":
        return { value: new Resp3ErrorReply(text), end };
      case ":": {
        const n = BigInt(text);
        const asNumber = Number(n);
        return { value: Number.isSafeInteger(asNumber) ? asNumber : n, end };
      }
      case "_":
        return { value: null, end };
      case "#":
        return { value: text === "t", end };
      case ",":
        return { value: Number(text), end };
      case "(":
        return { value: BigInt(text), end };
      case "$":
      case "!":
      case "=": {
        const len = this.#length(text);
        if (len < 0) return { value: null, end };
        if (this.#buf.length < end + len + 2) return INCOMPLETE;
        const bytes = Buffer.from(this.#buf.subarray(end, end + len));
        const value = type === "!" ? new Resp3ErrorReply(bytes.toString("utf8")) : bytes;
        return { value, end: end + len + 2 };
      }
      case "*":
      case "~":
      case ">": {
        const count = this.#length(text);
        if (count < 0) return { value: null, end };
        const items: Resp3Value[] = [];
        let at = end;
        for (let i = 0; i < count; i++) {
          const item = this.#parse(at);
          if (item === INCOMPLETE) return INCOMPLETE;
          items.push(item.value);
          at = item.end;
        }
        return { value: type === ">" ? new Resp3Push(items) : items, end: at };
      }
      case "%":
      case "|": {
        const count = this.#length(text);
        const entries: Array<[Resp3Value, Resp3Value]> = [];
        let at = end;
        for (let i = 0; i < count; i++) {
          const k = this.#parse(at);
          if (k === INCOMPLETE) return INCOMPLETE;
          const v = this.#parse(k.end);
          if (v === INCOMPLETE) return INCOMPLETE;
          entries.push([k.value, v.value]);
          at = v.end;
        }
        if (type === "|") {
          // An attribute annotates the value that follows it; skip to that value.
          return this.#parse(at);
        }
        return { value: new Resp3Map(entries), end: at };
      }
      default:
        throw new Resp3ProtocolError(`unknown RESP type byte 0x${(this.#buf[start] as number).toString(16)}`);
    }
  }
}

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(args: ReadonlyArray<string | number | Uint8Array>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = arg instanceof Uint8Array ? Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength) : Buffer.from(String(arg), "utf8");
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}
