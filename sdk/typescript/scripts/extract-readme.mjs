// Turns every ```ts block of README.md into a test in test/readme.generated.test.ts, so the
// README's examples are type-checked by tsc and run against a real server.
// A block runs as the body of an async function; its import lines are hoisted. Its URLs
// redis://localhost:6379 and http://localhost:4869 are pointed at the test server.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const readme = readFileSync(path.join(root, "README.md"), "utf8");
const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
if (blocks.length === 0) throw new Error("README.md has no ```ts blocks");

// The cached client of @beyond.dev/kv/next must be closed, or the test process never exits.
const imports = new Map([["@beyond.dev/kv/next", new Set(["closeServerKvClient"])]]);
const bodies = blocks.map((code, i) => {
  const lines = code.split("\n");
  const body = [];
  for (const line of lines) {
    const m = line.match(/^import\s+(type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)";$/);
    if (m) {
      const names = imports.get(m[3]) ?? new Set();
      for (const name of m[2].split(",").map((s) => s.trim()).filter(Boolean)) names.add(m[1] ? `type ${name}` : name);
      imports.set(m[3], names);
    } else {
      body.push(line);
    }
  }
  const text = body
    .join("\n")
    .replaceAll("redis://localhost:6379", "${RESP_URL}")
    .replaceAll("http://localhost:4869", "${HTTP_URL}");
  return { i, text };
});

const header = [...imports].map(([from, names]) => `import { ${[...names].join(", ")} } from "${from}";`).join("\n");
const out = `// GENERATED from README.md by scripts/extract-readme.mjs: do not edit.
/* eslint-disable */
import { after, test } from "node:test";
import { TestServer } from "./server.js";
${header}

const server = await TestServer.start();
after(async () => {
  await closeServerKvClient();
  await server.stop();
});
process.env.KV_URL = server.respUrl;
const RESP_URL = server.respUrl;
const HTTP_URL = server.httpUrl;
void RESP_URL;
void HTTP_URL;

${bodies
  .map(
    ({ i, text }) => `test("README example ${i + 1}", async () => {
${text
  .replace(/\$\{RESP_URL\}/g, "\" + RESP_URL + \"")
  .replace(/\$\{HTTP_URL\}/g, "\" + HTTP_URL + \"")
  .split("\n")
  .map((l) => (l ? `  ${l}` : l))
  .join("\n")}
});
`,
  )
  .join("\n")}`;
writeFileSync(path.join(root, "test", "readme.generated.test.ts"), out);
console.error(`extract-readme: ${blocks.length} examples`);
