#!/usr/bin/env node
// solc-shim: a stand-in for the native `solc` binary, backed by solc-js from node_modules.
//
// Forge cannot download compilers here, so foundry.toml points `solc` at this file.
// Forge only ever invokes its solc in two ways (verified with forge 1.7.1):
//   solc --version
//   solc --allow-paths <root>,<libs...> --base-path <root> --standard-json   (input JSON on stdin)
// `--include-path <dir>` (repeatable) is also understood, and `--flag=value` spellings.
// Forge already inlines every source's `content` in the standard JSON, so the import
// callback below is only a fallback (e.g. for hand-written inputs that use `urls`).
//
// Contract: stdout carries ONLY what native solc would print (version text or output JSON);
// diagnostics go to stderr. Set SOLC_SHIM_DEBUG=1 to log argv and import lookups to stderr.

import { createRequire } from 'node:module';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

const require = createRequire(import.meta.url);
const debug = process.env.SOLC_SHIM_DEBUG ? (...a) => console.error('[solc-shim]', ...a) : () => {};

// ---- argv ---------------------------------------------------------------------------------
const opts = { basePath: null, includePaths: [], allowPaths: [], standardJson: false, version: false };
const argv = process.argv.slice(2);
debug('argv:', JSON.stringify(argv));
for (let i = 0; i < argv.length; i++) {
  const [flag, inline] = argv[i].split(/=(.*)/s, 2);
  const value = () => (inline !== undefined ? inline : argv[++i]);
  switch (flag) {
    case '--version': opts.version = true; break;
    case '--standard-json': opts.standardJson = true; break;
    case '--base-path': opts.basePath = value(); break;
    case '--include-path': opts.includePaths.push(value()); break;
    case '--allow-paths': opts.allowPaths.push(...value().split(',').filter(Boolean)); break;
    default:
      console.error(`solc-shim: unsupported argument ${argv[i]} (only --version and --standard-json are implemented)`);
      process.exit(1);
  }
}

// Load solc-js (compiles the ~9 MB soljson wasm: ~0.4 s). Anything it prints goes to stderr.
const solc = require('solc');

if (opts.version) {
  // Same shape as native solc; forge parses the semver from the "Version:" line.
  // Build metadata is solc-js's real one (e.g. 0.8.30+commit.73712a01.Emscripten.clang).
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
  process.exit(0);
}
if (!opts.standardJson) {
  console.error('solc-shim: expected --version or --standard-json');
  process.exit(1);
}

// ---- import callback ----------------------------------------------------------------------
// Like native solc: a source unit name is looked up under the base path, then each include
// path (and here also each allowed path, then cwd). Reads are confined to those roots.
const roots = [...new Set(
  [opts.basePath ?? '.', ...opts.includePaths, ...opts.allowPaths, '.'].map((p) => path.resolve(p)),
)];
const within = (file) => roots.some((r) => file === r || file.startsWith(r + path.sep));

function findImport(sourceUnitName) {
  const candidates = path.isAbsolute(sourceUnitName)
    ? [sourceUnitName]
    : roots.map((r) => path.join(r, sourceUnitName));
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const real = realpathSync(file); // follow node_modules symlinks before the root check
    if (!within(path.resolve(file)) && !within(real)) continue;
    debug('import', sourceUnitName, '->', file);
    return { contents: readFileSync(file, 'utf8') };
  }
  debug('import', sourceUnitName, 'NOT FOUND');
  return { error: `File not found in base/include/allowed paths: ${sourceUnitName}` };
}

// ---- compile ------------------------------------------------------------------------------
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = Buffer.concat(chunks).toString('utf8');

// Keep stdout clean while the compiler runs: reroute stray writes to stderr.
const writeStdout = process.stdout.write.bind(process.stdout);
process.stdout.write = process.stderr.write.bind(process.stderr);
const output = solc.compile(input, { import: findImport });
process.stdout.write = writeStdout;

// Native solc exits 0 for compile errors too (they are reported inside the JSON).
process.stdout.write(output + '\n');
