// abi/ is generated from contracts/src by scripts/compile-contracts.ts. This fails when a
// contract changed without regenerating (fix: `npm run build:contracts`).
import { describe, expect, it } from 'vitest';
import { compileContracts, staleAbiFiles } from '../scripts/compile-contracts.ts';

describe('abi/', () => {
  // solc-js compiles in-process: a few seconds, above vitest's 5 s default timeout on slow CI.
  it('matches what scripts/compile-contracts.ts generates from contracts/src', { timeout: 120_000 }, () => {
    const result = compileContracts();
    expect(staleAbiFiles(result), 'abi/ is stale: run `npm run build:contracts`').toEqual([]);
  });
});
