import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, writeSync, type Stats } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Write `text` to `path` so that a reader (or a restart after a crash) sees the old file or the
 * new one, never half of either: write a temp file beside it, fsync, rename over the target.
 * Creates missing directories; a failure leaves no temp file behind.
 */
export function writeFileAtomic(path: string, text: string): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, "wx", 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * The nearest path at or above `path` that exists, with its stat; undefined when none does.
 * A file on the way (ENOTDIR) counts as nothing there: the walk goes on up and finds that file.
 * Any other error (ENAMETOOLONG, EACCES, …) goes to `fail` with the path and the code: checks of
 * output paths say it in their own words, before anything is written.
 */
export function nearestExisting(path: string, fail: (at: string, code: string | undefined) => Error): { at: string; stat: Stats } | undefined {
  for (let at = path; ; ) {
    let stat: Stats | undefined;
    try {
      stat = statSync(at, { throwIfNoEntry: false });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTDIR") throw fail(at, code);
    }
    if (stat) return { at, stat };
    const up = dirname(at);
    if (up === at) return undefined;
    at = up;
  }
}
