/**
 * Issue 14: `simulate` (and with it vega and vega-lite) is imported only when it is the command, so
 * the daemon does not load the chart packages. Its entry in the command list repeats its name,
 * summary and signal handling for `perp-keeper --help`; they must match the module. (That the
 * daemon runs without the chart packages installed is checked in test/build.)
 */
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.ts';

describe('issue 14: the command list loads simulate lazily, and its listing matches the module', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))('%s', async (name, entry) => {
    const c = await entry.load();
    expect({ name: c.name, summary: c.summary, handlesSignals: c.handlesSignals === true }).toEqual({
      name,
      summary: entry.summary,
      handlesSignals: entry.handlesSignals,
    });
  });
});
