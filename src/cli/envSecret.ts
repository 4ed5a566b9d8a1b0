import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../lib/errors.ts";

/**
 * Secrets that stay off the command line (argv is visible in `ps` and kept in shell history): a
 * variable NAME in the environment (or `.env`), or NAME_FILE naming a file that holds the value
 * (a Docker or Kubernetes secret mount, a systemd credential). Values are never echoed in errors.
 */

/** A secret file is a line or a few; anything this large is a wrong path. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

export type EnvValue = { value: string; from: string };

/**
 * The value of `name` or of the file named by `${name}_FILE` (relative to `cwd`), or undefined when
 * neither is set. One trailing line break of a file is dropped (editors add one). Both set is
 * refused: which one is meant cannot be guessed.
 */
export function envOrFile(env: Readonly<Record<string, string | undefined>>, name: string, cwd: string): EnvValue | undefined {
  const fileVar = `${name}_FILE`;
  const direct = env[name];
  const file = env[fileVar]?.trim();
  if (direct !== undefined && direct !== "" && file) throw new ConfigError(name, [`both ${name} and ${fileVar} are set; unset one`]);
  if (direct !== undefined && direct !== "") return { value: direct, from: name };
  if (!file) return undefined;
  const path = resolve(cwd, file);
  let text: string;
  try {
    if (statSync(path).size > MAX_SECRET_FILE_BYTES) throw new ConfigError(fileVar, [`${file} is larger than ${MAX_SECRET_FILE_BYTES / 1024} KiB; not a secret file`]);
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : `cannot be read (${code ?? "error"})`;
    throw new ConfigError(fileVar, [`${file}: ${why}`]);
  }
  return { value: text.replace(/\r?\n$/, ""), from: `${fileVar} (${file})` };
}
