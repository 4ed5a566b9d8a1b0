/**
 * Locating the Anvil executable shipped on npm (`@foundry-rs/anvil-<platform>-<arch>`).
 *
 * @module
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const ARCH_NAMES: Readonly<Partial<Record<string, string>>> = { x64: 'amd64', arm64: 'arm64' };

/**
 * Name of the npm package holding the Anvil binary for a platform, following the
 * `@foundry-rs/anvil-<platform>-<arch>` convention (`x64` is spelled `amd64`).
 */
export function anvilPlatformPackage(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string {
  const archName = ARCH_NAMES[arch] ?? arch;
  return `@foundry-rs/anvil-${platform}-${archName}`;
}

let cachedBinary: string | undefined;

/**
 * Absolute path of the Anvil executable from the platform package (a dependency of
 * `@foundry-rs/anvil`). Looked up from this module, then from `@foundry-rs/anvil`'s own
 * location (non-hoisted installs). Throws an error naming the missing package.
 */
export function resolveAnvilBinary(): string {
  if (cachedBinary !== undefined) return cachedBinary;
  const pkg = anvilPlatformPackage();
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';

  const requireHere = createRequire(import.meta.url);
  const requirers = [requireHere];
  try {
    requirers.push(createRequire(requireHere.resolve('@foundry-rs/anvil/package.json')));
  } catch {
    // @foundry-rs/anvil itself is missing; the platform package may still be installed directly.
  }

  let pkgJson: string | undefined;
  for (const req of requirers) {
    try {
      pkgJson = req.resolve(`${pkg}/package.json`);
      break;
    } catch {
      // try the next location
    }
  }
  if (pkgJson === undefined) {
    throw new Error(
      `Anvil binary not found: npm package "${pkg}" is not installed for ${process.platform}/${process.arch}. ` +
        `It is an optional dependency of "@foundry-rs/anvil": run \`npm install\` without --omit=optional, ` +
        `or pass \`binary\` to startAnvil().`,
    );
  }

  const binary = path.join(path.dirname(pkgJson), 'bin', exe);
  try {
    accessSync(binary, process.platform === 'win32' ? fsConstants.F_OK : fsConstants.X_OK);
  } catch (cause) {
    throw new Error(`Anvil binary from npm package "${pkg}" is missing or not executable: ${binary}`, { cause });
  }
  cachedBinary = binary;
  return binary;
}
