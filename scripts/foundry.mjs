#!/usr/bin/env node
// Run a Foundry tool (forge, cast, anvil) from its npm platform package and pass its exit code
// through. The npm wrappers (`node_modules/.bin/forge`, @foundry-rs/forge 1.7.1) exit 0 even when
// tests fail (foundry-rs/foundry#14781), which would let CI pass a red forge suite.
//   node scripts/foundry.mjs forge test
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const [tool, ...args] = process.argv.slice(2);
if (!["forge", "cast", "anvil", "chisel"].includes(tool ?? "")) {
  console.error("usage: node scripts/foundry.mjs forge|cast|anvil ARGS...");
  process.exit(2);
}
const arch = { x64: "amd64", arm64: "arm64" }[process.arch];
const platform = { linux: "linux", darwin: "darwin", win32: "win32" }[process.platform];
const pkg = `@foundry-rs/${tool}-${platform}-${arch}`;
let bin;
try {
  bin = join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), "bin", tool);
} catch {
  console.error(`${tool}: the npm package ${pkg} is not installed (run npm install)`);
  process.exit(2);
}
const r = spawnSync(bin, args, { stdio: "inherit" });
if (r.error) {
  console.error(`${tool}: ${r.error.message}`);
  process.exit(2);
}
process.exit(r.status ?? (r.signal ? 1 : 0));
