// node --test reporter: one line per test, starting with PASS or FAIL (CI counts them), the
// failure's error indented under it, and a summary line.
import path from "node:path";
import { inspect } from "node:util";

interface TestEventData {
  name: string;
  nesting: number;
  file?: string;
  details?: { duration_ms?: number; type?: string; error?: unknown };
}
interface TestEvent {
  type: string;
  data: TestEventData;
}

function label(data: TestEventData): string {
  const file = data.file ? path.basename(data.file).replace(/\.js$/, "") : "";
  return file && data.name !== data.file ? `${file} :: ${data.name}` : data.name;
}

function describeError(error: unknown): string {
  const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
  const text = cause instanceof Error ? (cause.stack ?? cause.message) : inspect(cause, { depth: 4 });
  return text
    .split("\n")
    .slice(0, 25)
    .map((line) => `    ${line}`)
    .join("\n");
}

export default async function* reporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let passed = 0;
  let failed = 0;
  for await (const event of source) {
    const { data } = event;
    if (event.type === "test:pass") {
      if (data.details?.type === "suite") continue;
      passed++;
      yield `PASS ${label(data)} (${Math.round(data.details?.duration_ms ?? 0)} ms)\n`;
    } else if (event.type === "test:fail") {
      const error = data.details?.error as { failureType?: string } | undefined;
      // A suite fails when a test inside it failed; that test has its own line already.
      if (data.details?.type === "suite" && error?.failureType === "subtestsFailed") continue;
      failed++;
      yield `FAIL ${label(data)}\n${describeError(data.details?.error)}\n`;
    } else if (event.type === "test:stderr" || event.type === "test:stdout") {
      const message = (data as unknown as { message?: string }).message;
      if (message) yield message.trimEnd().split("\n").map((line) => `    | ${line}\n`).join("");
    }
  }
  yield `typescript sdk: ${passed} passed, ${failed} failed\n`;
}
