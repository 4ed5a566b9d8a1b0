/**
 * The layering, enforced: the protocol-neutral core (src/keeper, src/index, src/plan,
 * src/execute) imports no protocol module, no generated ABI and nothing from the margin engine,
 * directly or through any file it imports. Only src/protocols/<name>/ and the lab (src/sim) bind
 * to a market design. And the engine stays pure: it imports nothing outside itself but the pure
 * number formatting of src/lib/units.ts (its validation messages print rates).
 *
 * Imports are read with TypeScript's own scanner (ts.preProcessFile), so comments and strings that
 * look like imports do not count, and `import type` counts like any other import.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const CORE = ["src/keeper", "src/index", "src/plan", "src/execute"];
const FORBIDDEN_FOR_CORE = [/^abi\//, /^src\/engine\//, /^src\/protocols\//, /^src\/sim\//];

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...filesUnder(rel));
    else if (name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** The repo-relative files `file` imports (relative specifiers only; packages are not followed). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)).split(sep).join("/"));
}

/** Every file reachable from `start` through relative imports, with the path that reached it. */
function reachable(start: string): Map<string, string[]> {
  const seen = new Map<string, string[]>([[start, [start]]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const dep of importsOf(file)) {
      if (seen.has(dep)) continue;
      seen.set(dep, [...seen.get(file)!, dep]);
      if (dep.startsWith("src/")) queue.push(dep);
    }
  }
  return seen;
}

describe("architecture", () => {
  it("the core (keeper, index, plan, execute) reaches no ABI, engine, protocol or lab file", () => {
    const violations: string[] = [];
    for (const file of CORE.flatMap(filesUnder)) {
      for (const [dep, path] of reachable(file)) {
        if (FORBIDDEN_FOR_CORE.some((re) => re.test(dep))) violations.push(path.join(" → "));
      }
    }
    expect(violations).toEqual([]);
  });

  it("the engine is pure: it imports only itself and src/lib/units.ts", () => {
    const allowed = (dep: string) => dep.startsWith("src/engine/") || dep === "src/lib/units.ts";
    const outside = filesUnder("src/engine").flatMap((file) => importsOf(file).filter((dep) => !allowed(dep)).map((dep) => `${file} → ${dep}`));
    expect(outside).toEqual([]);
  });

  it("a protocol module imports no other protocol and no keeper loop", () => {
    const violations: string[] = [];
    for (const dir of readdirSync(join(ROOT, "src/protocols")).filter((n) => statSync(join(ROOT, "src/protocols", n)).isDirectory())) {
      for (const file of filesUnder(`src/protocols/${dir}`)) {
        for (const dep of importsOf(file)) {
          const other = dep.startsWith("src/protocols/") && !dep.startsWith(`src/protocols/${dir}/`);
          const loop = dep === "src/keeper/keeper.ts" || dep === "src/keeper/createKeeper.ts" || dep.startsWith("src/cli/") || dep.startsWith("src/sim/");
          if (other || loop) violations.push(`${file} → ${dep}`);
        }
      }
    }
    expect(violations).toEqual([]);
  });

  it("no file in src/ has more than 500 lines, and the executor's façade at most 300", () => {
    const long = filesUnder("src")
      .map((f) => ({ f, n: readFileSync(join(ROOT, f), "utf8").split("\n").length - 1 }))
      .filter(({ f, n }) => n > 500 || (f === "src/execute/executor.ts" && n > 300))
      .map(({ f, n }) => `${f}: ${n} lines`);
    expect(long).toEqual([]);
  });

  it("the walk sees a forbidden import when there is one (the check can fail)", () => {
    // src/protocols/reference/calls.ts imports abi/PerpMarket.ts: the same walk from it must find it.
    expect([...reachable("src/protocols/reference/calls.ts").keys()]).toContain("abi/PerpMarket.ts");
  });
});
