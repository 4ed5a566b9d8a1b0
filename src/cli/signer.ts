import type { Account } from "viem";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { ANVIL_DEFAULT_CHAIN_ID, ANVIL_DEFAULT_MNEMONIC } from "../chain/anvil.ts";
import { BaseError } from "../lib/errors.ts";

/**
 * Signing keys come only from the environment (KEEPER_PRIVATE_KEY, DEPLOYER_PRIVATE_KEY; `.env` is
 * loaded at start-up). A key is never printed, not even in an error about it.
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
export function accountFromEnv(env: Readonly<Record<string, string | undefined>>, variable: KeyVariable): Account | undefined {
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
