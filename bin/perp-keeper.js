#!/usr/bin/env node
// perp-keeper's launcher.
// - A build (`npm run build` writes dist/) runs with plain node: what a production install
//   (`npm install --omit=dev`) has, and what a deployed daemon runs. tsx is not needed.
// - A checkout whose sources are newer than its build, or that has no build, runs the TypeScript
//   sources through tsx (a dev dependency), so a stale dist/ is never run by mistake.
import { existsSync, readdirSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const built = `${root}dist/src/cli/main.js`;
const stamp = `${root}dist/.build-stamp`;

/** The newest modification time under `dir` (0 when it does not exist). */
function newest(dir) {
  let t = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function buildIsCurrent() {
  if (!existsSync(built) || !existsSync(stamp)) return false;
  const builtAt = statSync(stamp).mtimeMs;
  return ["src", "abi", "config"].every((d) => newest(`${root}${d}`) <= builtAt);
}

async function tsxRegister() {
  try {
    return (await import("tsx/esm/api")).register;
  } catch {
    return undefined;
  }
}

let main;
if (buildIsCurrent()) {
  main = await import(built);
} else {
  const register = await tsxRegister();
  if (register) {
    register();
    main = await import("../src/cli/main.ts");
  } else if (existsSync(built)) {
    process.stderr.write("perp-keeper: dist/ is older than the sources and tsx is not installed; running dist/ (npm run build to update it)\n");
    main = await import(built);
  } else {
    process.stderr.write("perp-keeper: no build in dist/ and tsx is not installed: run npm run build (or npm install for the sources)\n");
    process.exit(1);
  }
}
await main.runCli();
