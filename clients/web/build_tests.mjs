// `npm test`: bundles each test/*.test.ts (with the src/ modules it imports) into one ES module under the
// repository's git-ignored .build/web-tests/, then runs them with Node's built-in test runner.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

const OUT = "../../.build/web-tests";
const tests = readdirSync("test").filter((name) => name.endsWith(".test.ts"));

rmSync(OUT, { recursive: true, force: true });
await build({
  entryPoints: tests.map((name) => join("test", name)),
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: "inline",
  outdir: OUT,
  outExtension: { ".js": ".mjs" },
  logLevel: "warning",
});
const run = spawnSync(
  process.execPath,
  ["--enable-source-maps", "--test", "--test-reporter=spec", ...tests.map((name) => join(OUT, name.replace(/\.ts$/, ".mjs")))],
  { stdio: "inherit" },
);
process.exit(run.status ?? 1);
