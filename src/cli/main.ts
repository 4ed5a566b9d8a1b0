import { readFileSync } from "node:fs";
import { config as loadDotenv } from "dotenv";
import { BaseError as ViemBaseError } from "viem";
import { BaseError, oneLine } from "../lib/errors.ts";
import { watchParent } from "../lib/parentWatch.ts";
import { createShutdown } from "../lib/shutdown.ts";
import { UsageError, helpText, parseFlags, type CliIO } from "./command.ts";
import { COMMANDS } from "./commands.ts";

/**
 * perp-keeper's entry point: pick the command, parse its flags, run it, and turn any error into
 * one line on stderr with an exit code (2: the command line is wrong; 1: anything else).
 */

function version(): string {
  // src/cli/main.ts (through tsx) is two levels below package.json; dist/src/cli/main.js three.
  for (const up of ["../../package.json", "../../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "perp-keeper") return pkg.version ?? "unknown";
    } catch {
      // not this level
    }
  }
  return "unknown";
}

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "Usage: perp-keeper <command> [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run perp-keeper <command> --help for a command's options. Keys come from the environment",
    "(DEPLOYER_PRIVATE_KEY, KEEPER_PRIVATE_KEY; a .env file in the working directory is loaded).",
  ].join("\n");
}

/** One line for an error that is not the user's: our shortMessage, viem's shortMessage, or the message. */
function describe(e: unknown): string {
  if (e instanceof BaseError) return oneLine(e);
  if (e instanceof ViemBaseError) return oneLine(new Error(e.shortMessage));
  return oneLine(e);
}

/** The stack of `e` and of every cause, for --debug. */
function stackOf(e: unknown): string {
  const parts: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && depth < 10; depth++) {
    parts.push(depth === 0 ? "" : "Caused by:", cur instanceof Error ? (cur.stack ?? String(cur)) : String(cur));
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.filter(Boolean).join("\n");
}

/** Run the CLI on `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const debug = argv.includes("--debug");
  try {
    // --debug may also come before the command.
    const leading = argv.findIndex((a) => a !== "--debug");
    const [first, ...rest] = leading < 0 ? [] : argv.slice(leading);
    if (first === undefined) {
      io.stderr(usage());
      return 2;
    }
    if (first === "--help" || first === "-h" || first === "help") {
      const target = first === "help" ? rest[0] : undefined;
      const c = target === undefined ? undefined : COMMANDS.find((x) => x.name === target);
      if (target !== undefined && !c) throw new UsageError(`unknown command "${target}"; commands: ${COMMANDS.map((x) => x.name).join(", ")}`);
      io.stdout(c ? helpText(await c.load()) : usage());
      return 0;
    }
    if (first === "--version" || first === "-V") {
      io.stdout(version());
      return 0;
    }
    const entry = COMMANDS.find((c) => c.name === first);
    if (!entry) {
      const what = first.startsWith("-") ? `expected a command before ${first}` : `unknown command "${first}"`;
      throw new UsageError(`${what}; commands: ${COMMANDS.map((c) => c.name).join(", ")} (see perp-keeper --help)`);
    }
    const command = await entry.load();
    const flags = parseFlags(command.name, rest, command.options);
    if (flags.help) {
      io.stdout(helpText(command));
      return 0;
    }
    return await command.run(flags, io);
  } catch (e) {
    if (e instanceof BaseError && e.userError) {
      io.stderr(`perp-keeper: ${oneLine(e)}`);
      if (debug) io.stderr(stackOf(e));
      return e instanceof UsageError ? 2 : 1;
    }
    if (debug) {
      io.stderr(`perp-keeper: ${describe(e)}`);
      io.stderr(stackOf(e));
    } else {
      io.stderr(`perp-keeper: ${describe(e)} (run with --debug for the stack)`);
    }
    return 1;
  }
}

/**
 * A reader that went away (`perp-keeper status … | head -2`): stop quietly, as other CLIs do (they
 * die of SIGPIPE; Node ignores it and reports EPIPE on the stream instead). Any other stream error
 * is re-thrown.
 */
function onBrokenPipe(stream: NodeJS.WriteStream, then: () => void): void {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
    then();
  });
}

/**
 * The process entry: load .env, wire the process's streams and signals, run, set the exit code.
 * The process has one Shutdown (lib/shutdown.ts): SIGINT/SIGTERM, the parent launcher exiting and
 * a closed output stream begin it, for a command that handles signals; its signal is the
 * command's `io.signal`, and the command registers its cleanups on it (see shutdownOf).
 */
export async function runCli(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  loadDotenv({ quiet: true });
  const command = COMMANDS.find((c) => c.name === argv[0]);
  // A second signal while shutting down means "now" (128 + its number): the exit hook in
  // src/chain/anvil.ts still SIGTERMs any Anvil this process started.
  const shutdown = createShutdown({ signals: command?.handlesSignals ? ["SIGINT", "SIGTERM"] : [] });
  let stopWatchingParent = () => {};
  let closed = { stdout: false, stderr: false };
  if (command?.handlesSignals) {
    // Started through a launcher that exits without passing the signal on (npm exec / npx): its
    // exit is our stop signal, so no orphan keeps running (and serving /healthz).
    stopWatchingParent = watchParent((parent) => {
      if (!closed.stderr) process.stderr.write(`perp-keeper: the parent process (pid ${parent}) exited; shutting down\n`);
      void shutdown.kill("parent exited");
    });
  }
  // A long-running command stops as on a signal when its output goes away; any other stops at once.
  const brokenPipe = (which: "stdout" | "stderr") => () => {
    closed = { ...closed, [which]: true };
    if (command?.handlesSignals) void shutdown.kill("EPIPE");
    else process.exit(0);
  };
  onBrokenPipe(process.stdout, brokenPipe("stdout"));
  onBrokenPipe(process.stderr, brokenPipe("stderr"));
  const io: CliIO = {
    stdout: (line) => void (closed.stdout || process.stdout.write(`${line}\n`)),
    stderr: (line) => void (closed.stderr || process.stderr.write(`${line}\n`)),
    env: process.env,
    cwd: process.cwd(),
    signal: shutdown.signal,
    stderrIsTTY: process.stderr.isTTY === true,
    writeStderr: (chunk) => void (closed.stderr || process.stderr.write(chunk)),
  };
  process.exitCode = await main(argv, io);
  stopWatchingParent();
  shutdown.dispose();
  // Once a stop was asked for and the command has done its orderly part (or given up at its hard
  // deadline), nothing left (a retry timer, a request to a dead node) may keep the process alive.
  if (shutdown.isKilled) process.exit();
}
