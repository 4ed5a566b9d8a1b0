import { resolve } from "node:path";
import type { Account, Hex, PrivateKeyAccount } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { ANVIL_DEFAULT_CHAIN_ID, ANVIL_DEFAULT_MNEMONIC } from "../chain/anvil.ts";
import { readKeystore } from "../chain/keystore.ts";
import { BaseError } from "../lib/errors.ts";
import type { CliIO } from "./command.ts";
import { envOrFile } from "./envSecret.ts";

/**
 * Signing keys never come from argv: either a raw key in the environment (KEEPER_PRIVATE_KEY,
 * DEPLOYER_PRIVATE_KEY; `.env` is loaded at start-up), for local chains and tests, or an encrypted
 * keystore (`--keystore FILE`, as `cast wallet import` writes it) whose password is in the
 * environment (KEEPER_KEYSTORE_PASSWORD, DEPLOYER_KEYSTORE_PASSWORD, or their _FILE variants).
 * A key is never printed, not even in an error about it.
 */

export type KeyVariable = "DEPLOYER_PRIVATE_KEY" | "KEEPER_PRIVATE_KEY";

export class BadPrivateKeyError extends BaseError {
  override name = "BadPrivateKeyError";
  constructor(variable: KeyVariable) {
    // No cause: viem's error would quote the key.
    super(`${variable} is not a private key (expected 32 bytes as 64 hex digits, with or without 0x)`, { userError: true });
  }
}

export class MissingPrivateKeyError extends BaseError {
  override name = "MissingPrivateKeyError";
  constructor(variable: KeyVariable, chainId: number) {
    super(
      `${variable} is not set; Anvil's dev key is only used on chain ${ANVIL_DEFAULT_CHAIN_ID} and this RPC is chain ${chainId}`,
      { userError: true },
    );
  }
}

/** The account of `variable` in `env`, or undefined when it is unset or empty. */
export function accountFromEnv(env: Readonly<Record<string, string | undefined>>, variable: KeyVariable): PrivateKeyAccount | undefined {
  const raw = env[variable]?.trim();
  if (!raw) return undefined;
  const hex = raw.startsWith("0x") || raw.startsWith("0X") ? raw.slice(2) : raw;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new BadPrivateKeyError(variable);
  try {
    return privateKeyToAccount(`0x${hex}`);
  } catch {
    throw new BadPrivateKeyError(variable);
  }
}

/** Anvil's dev account #0, derived from its public test mnemonic. Local chains only. */
export function anvilDevAccount(): Account {
  devAccount ??= mnemonicToAccount(ANVIL_DEFAULT_MNEMONIC, { addressIndex: 0 });
  return devAccount;
}
let devAccount: Account | undefined;

/**
 * The signer for `variable`: the key from the environment, or, when none is set and the chain is
 * Anvil's (31337), Anvil's dev account #0 with a note on stderr. Any other chain without a key is
 * refused. Call with the chain id the RPC reported.
 */
export function resolveSigner(
  fromEnv: Account | undefined,
  variable: KeyVariable,
  chainId: number,
  note: (line: string) => void,
): Account {
  if (fromEnv) return fromEnv;
  if (chainId !== ANVIL_DEFAULT_CHAIN_ID) throw new MissingPrivateKeyError(variable, chainId);
  const dev = anvilDevAccount();
  note(`perp-keeper: ${variable} is not set; using Anvil's dev account #0 (${dev.address}) on chain ${chainId}`);
  return dev;
}

/** Who signs: the keeper (run) or the deployer (deploy). */
export type SignerRole = "keeper" | "deployer";

const ROLE_VARIABLES = {
  keeper: { key: "KEEPER_PRIVATE_KEY", password: "KEEPER_KEYSTORE_PASSWORD" },
  deployer: { key: "DEPLOYER_PRIVATE_KEY", password: "DEPLOYER_KEYSTORE_PASSWORD" },
} as const satisfies Record<SignerRole, { key: KeyVariable; password: string }>;

/** Two key sources at once, or a keystore without its password: which key is meant cannot be guessed. */
export class KeySourceError extends BaseError {
  override name = "KeySourceError";
  constructor(message: string) {
    super(message, { userError: true });
  }
}

/** A signing key and where it came from; `privateKey` is for the logger's list of secrets only. */
export type SigningKey = { account: PrivateKeyAccount; privateKey: Hex; from: string };

/**
 * The signing key of `role`: decrypted from the keystore at `keystore` (relative to `io.cwd`) when
 * given, else the raw key variable, else undefined. A keystore and a raw key both set is refused.
 */
export async function loadSigningKey(role: SignerRole, keystore: string | undefined, io: Pick<CliIO, "env" | "cwd">): Promise<SigningKey | undefined> {
  const vars = ROLE_VARIABLES[role];
  if (keystore === undefined) {
    const account = accountFromEnv(io.env, vars.key);
    if (!account) return undefined;
    const raw = io.env[vars.key]!.trim();
    return { account, privateKey: `0x${raw.replace(/^0[xX]/, "")}`, from: vars.key };
  }
  if (io.env[vars.key]?.trim()) throw new KeySourceError(`both --keystore and ${vars.key} are set; use one`);
  const password = envOrFile(io.env, vars.password, io.cwd);
  if (password === undefined) {
    throw new KeySourceError(`--keystore needs its password in ${vars.password} or ${vars.password}_FILE (never on the command line)`);
  }
  const { privateKey } = await readKeystore(resolve(io.cwd, keystore), password.value);
  return { account: privateKeyToAccount(privateKey), privateKey, from: keystore };
}
