/**
 * Starts a real beyond-kv for a test file: a temporary data directory under /tmp, free
 * loopback ports, and a guarantee that every process it started is stopped (on `stop()`,
 * and on exit of the test process even after a failure).
 */

import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** The beyond-kv executable: $BEYOND_KV_BIN (set by run-tests.sh) or the Bazel output. */
export const BEYOND_KV_BIN = process.env.BEYOND_KV_BIN ?? path.resolve(here, "../../../bazel-bin/services/beyond-kv/beyond-kv");

export type ChildName = "kv-shard" | "kv-resp-gateway" | "kv-http-gateway";

export interface ServerOptions {
  requirepass?: string;
  httpToken?: string;
}

/** Every process started by this test process, for the exit hook. */
const started = new Map<number, string>();
function killStarted(): void {
  for (const [pid, dir] of started) {
    for (const victim of [...childrenOf(pid).map((c) => c.pid), pid]) {
      try {
        process.kill(victim, "SIGKILL");
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
process.on("exit", killStarted);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    killStarted();
    process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Direct children of `pid` with their executable's base name (from /proc). */
export function childrenOf(pid: number): Array<{ pid: number; name: string; args: string[] }> {
  const out: Array<{ pid: number; name: string; args: string[] }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid !== pid) continue;
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").filter(Boolean);
      out.push({ pid: Number(entry), name: path.basename(args[0] ?? ""), args });
    } catch {
      // exited while we looked
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

export class TestServer {
  readonly respPort: number;
  readonly httpPort: number;
  readonly dir: string;
  readonly options: ServerOptions;
  #proc: ChildProcess | undefined;

  private constructor(respPort: number, httpPort: number, dir: string, options: ServerOptions) {
    this.respPort = respPort;
    this.httpPort = httpPort;
    this.dir = dir;
    this.options = options;
  }

  static async start(options: ServerOptions = {}): Promise<TestServer> {
    const dir = mkdtempSync(path.join(tmpdir(), "bkv-sdk-test-"));
    const server = new TestServer(await freePort(), await freePort(), dir, options);
    await server.#spawn();
    return server;
  }

  get pid(): number {
    return this.#proc?.pid ?? -1;
  }

  /** `redis://` URL (without credentials). */
  get respUrl(): string {
    return `redis://127.0.0.1:${this.respPort}`;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  async #spawn(): Promise<void> {
    const args = ["--data-dir", path.join(this.dir, "data"), "--resp-port", String(this.respPort), "--http-port", String(this.httpPort), "--threads", "2"];
    if (this.options.requirepass) args.push("--requirepass", this.options.requirepass);
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (this.options.httpToken) env.KV_HTTP_TOKEN = this.options.httpToken;
    const log = openSync(path.join(this.dir, "server.log"), "a");
    const proc = spawn(BEYOND_KV_BIN, args, { stdio: ["ignore", "ignore", log], env });
    this.#proc = proc;
    if (proc.pid === undefined) throw new Error(`could not start ${BEYOND_KV_BIN}`);
    started.set(proc.pid, this.dir);
    const pidFile = process.env.BKV_SDK_PIDFILE;
    if (pidFile) appendFileSync(pidFile, `${proc.pid} ${this.dir}\n`);
    let exited = false;
    proc.once("exit", () => (exited = true));
    try {
      await this.waitReady(30_000, () => exited);
    } catch (error) {
      await this.stop();
      throw new Error(`${(error as Error).message}; server log:\n${this.log().slice(-2000)}`);
    }
  }

  /** The server's stderr so far. */
  log(): string {
    try {
      return readFileSync(path.join(this.dir, "server.log"), "utf8");
    } catch {
      return "";
    }
  }

  /** Waits until both gateways accept connections and every shard answers `/readyz`. */
  async waitReady(timeoutMs = 30_000, gaveUp: () => boolean = () => false): Promise<void> {
    await until("beyond-kv to serve", timeoutMs, async () => {
      if (gaveUp()) throw new Error("beyond-kv exited during start-up");
      if (!(await tcpOpen(this.respPort))) return false;
      try {
        const res = await fetch(`${this.httpUrl}/readyz`);
        await res.body?.cancel();
        return res.status === 200;
      } catch {
        return false;
      }
    });
  }

  /** The supervised children of beyond-kv. */
  children(): Array<{ pid: number; name: string; args: string[] }> {
    return childrenOf(this.pid);
  }

  /** Pids of the children with this executable name. */
  pidsOf(name: ChildName): number[] {
    return this.children()
      .filter((c) => c.name === name)
      .map((c) => c.pid);
  }

  /**
   * SIGKILLs one child (the first one named so, or the shard with `--shard-id=<shard>`), runs
   * `during` at once (while it is down), then waits until the supervisor has started its
   * replacement and the server is ready again.
   */
  async killChild(name: ChildName, options: { shard?: number; during?: () => Promise<void> } = {}): Promise<{ killed: number; replacement: number }> {
    const { shard } = options;
    const matches = (c: { name: string; args: string[] }): boolean => c.name === name && (shard === undefined || c.args.includes(`--shard-id=${shard}`));
    const victim = this.children().find(matches);
    if (!victim) throw new Error(`no ${name} child of beyond-kv ${this.pid}`);
    process.kill(victim.pid, "SIGKILL");
    await options.during?.();
    let replacement = -1;
    await until(`a new ${name}`, 30_000, () => {
      const next = this.children().find((c) => matches(c) && c.pid !== victim.pid);
      if (next) replacement = next.pid;
      return next !== undefined;
    });
    await this.waitReady();
    return { killed: victim.pid, replacement };
  }

  /** SIGTERM, then SIGKILL of beyond-kv and its children if they outlive 10 s; removes the directory. */
  async stop(): Promise<void> {
    const proc = this.#proc;
    if (proc?.pid !== undefined && alive(proc.pid)) {
      const kids = this.children().map((c) => c.pid);
      const exited = new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) resolve();
        else proc.once("exit", () => resolve());
      });
      proc.kill("SIGTERM");
      const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 10_000).unref());
      if ((await Promise.race([exited, timer])) === "timeout") proc.kill("SIGKILL");
      for (const kid of kids) {
        if (alive(kid)) {
          try {
            process.kill(kid, "SIGKILL");
          } catch {
            // gone
          }
        }
      }
      started.delete(proc.pid);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A TCP server that accepts connections and never answers: for timeouts. Records what it received. */
export async function blackhole(): Promise<{ port: number; received: () => string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let received = "";
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on("data", (d) => (received += d.toString("latin1")));
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as net.AddressInfo;
  return {
    port,
    received: () => received,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        srv.close(() => r());
      }),
  };
}
