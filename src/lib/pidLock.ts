import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { BaseError } from "./errors.ts";

/**
 * An exclusive lock on a file path for one process: `<path>.lock`, created with O_EXCL and holding
 * the owner's pid and its start time. A lock whose owner is gone (SIGKILLed, crashed, its pid now
 * another process's) is stale and is taken over, so a restart right after a crash is never blocked.
 * Linux reads a process's start time from /proc; elsewhere a live pid alone keeps the lock.
 *
 * Not proper-lockfile: its locks carry no owner to name, and a crashed owner's lock only turns stale
 * after an mtime timeout (10 s by default), which would refuse the immediate restart after a SIGKILL.
 */

export class FileLockedError extends BaseError {
  override name = "FileLockedError";
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {
    super(`${path} is in use by another process (pid ${pid}, its lock is ${path}.lock); stop that one first, or pass another file`, {
      userError: true,
    });
  }
}

export type PidLock = {
  readonly lockPath: string;
  /** Remove the lock if it is still ours. Idempotent; also runs at process exit. */
  release(): void;
};

type Owner = { pid: number; startTime?: string };

/** The start time of `pid` in clock ticks since boot (Linux), a guard against pid reuse. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z" || fields[0] === "X") return "dead";
    return fields[19];
  } catch {
    return undefined;
  }
}

function isLive(owner: Owner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = startTimeOf(owner.pid);
  if (now === "dead") return false;
  return owner.startTime === undefined || now === undefined || now === owner.startTime;
}

function readOwner(lockPath: string): Owner | undefined {
  try {
    const o = JSON.parse(readFileSync(lockPath, "utf8")) as Partial<Owner>;
    return typeof o.pid === "number" && Number.isInteger(o.pid) && o.pid > 0 ? { pid: o.pid, startTime: typeof o.startTime === "string" ? o.startTime : undefined } : undefined;
  } catch {
    return undefined; // half-written by a process killed between create and write, or garbage: stale
  }
}

/** Take the lock on `path` (creating its directory), or throw {@link FileLockedError} naming the holder. */
export function lockFile(path: string): PidLock {
  const lockPath = `${path}.lock`;
  mkdirSync(dirname(lockPath), { recursive: true });
  const me: Owner = { pid: process.pid, startTime: startTimeOf(process.pid) };
  const text = JSON.stringify(me);
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, "wx", 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = readOwner(lockPath);
      if (owner && owner.pid !== process.pid && isLive(owner)) throw new FileLockedError(path, owner.pid);
      // Stale: move it aside first (only one of two racing restarts can), then check what was moved.
      const aside = `${lockPath}.${process.pid}.stale`;
      try {
        renameSync(lockPath, aside);
      } catch {
        continue; // another process moved it first: try again
      }
      const moved = readOwner(aside);
      if (moved && moved.pid !== owner?.pid && isLive(moved)) {
        // A racing restart had already replaced the stale lock with its own: put that one back.
        try {
          linkSync(aside, lockPath);
        } catch {
          // something newer holds the path again
        }
        rmSync(aside, { force: true });
        throw new FileLockedError(path, moved.pid);
      }
      rmSync(aside, { force: true });
      continue;
    }
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off("exit", release);
      if (readOwner(lockPath)?.pid === process.pid) rmSync(lockPath, { force: true });
    };
    process.on("exit", release);
    return { lockPath, release };
  }
  const owner = readOwner(lockPath);
  throw new FileLockedError(path, owner?.pid ?? 0);
}
