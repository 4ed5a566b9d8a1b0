import type { Command } from "./command.ts";
import { deployCommand } from "./deploy.ts";
import { demoCommand } from "./demo.ts";
import { devnetCommand } from "./devnet.ts";
import { pnlCommand } from "./pnl.ts";
import { priceCommand } from "./price.ts";
import { quoteCommand } from "./quote.ts";
import { runCommand } from "./run.ts";
import { statusCommand } from "./status.ts";

/**
 * The commands, in the order `perp-keeper --help` lists them. Each is loaded when it is run:
 * `simulate` draws its report's charts with vega and vega-lite (about 1 s and 25 MB at start-up
 * on this project's machine), which the daemon never needs, so its module is imported only when
 * `simulate` is the command. Its name, summary and signal handling are repeated here for the
 * listing; test/cli/commands.test.ts checks they match the module.
 */
export type CommandEntry = {
  name: string;
  summary: string;
  handlesSignals: boolean;
  load: () => Promise<Command>;
};

function loaded(c: Command): CommandEntry {
  return { name: c.name, summary: c.summary, handlesSignals: c.handlesSignals === true, load: async () => c };
}

export const COMMANDS: readonly CommandEntry[] = [
  ...([runCommand, statusCommand, pnlCommand, demoCommand, devnetCommand, deployCommand, quoteCommand, priceCommand] as unknown as Command[]).map(loaded),
  {
    name: "simulate",
    summary: "The parameter lab: run a scenario's price path against one or more liquidation presets, for real, and report.",
    handlesSignals: true,
    load: async () => (await import("./simulate.ts")).simulateCommand as unknown as Command,
  },
];
