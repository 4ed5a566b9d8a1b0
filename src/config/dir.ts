import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repo's config/ folder (dist/config in a build). */
export const CONFIG_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "config");
