import { readFileSync, statSync } from "node:fs";
import { decrypt as aesDecrypt } from "ethereum-cryptography/aes.js";
import { keccak256 } from "ethereum-cryptography/keccak.js";
import { pbkdf2 } from "ethereum-cryptography/pbkdf2.js";
import { scrypt } from "ethereum-cryptography/scrypt.js";
import { bytesToHex, equalsBytes, hexToBytes, utf8ToBytes } from "ethereum-cryptography/utils.js";
import { getAddress, isAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { z } from "zod";
import { zodProblems } from "../lib/zodIssues.ts";
import { BaseError } from "../lib/errors.ts";

/**
 * Encrypted keystores in the Web3 Secret Storage v3 format (what `cast wallet import` and geth
 * write): a key derived from the password with scrypt or PBKDF2-SHA256, checked by a keccak MAC,
 * and the private key under AES-128-CTR. The cryptography is ethereum-cryptography's (audited
 * noble primitives); this file only reads the format and bounds its parameters.
 */

/** A keystore file that cannot be used: malformed, wrong password, or another address's key. */
export class KeystoreError extends BaseError {
  override name = "KeystoreError";
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`, { userError: true });
  }
}
/** The file is not a v3 keystore, or uses parameters this reader refuses. */
export class KeystoreFormatError extends KeystoreError {
  override name = "KeystoreFormatError";
}
/** The MAC does not match: the password is wrong (or the ciphertext was altered). */
export class KeystorePasswordError extends KeystoreError {
  override name = "KeystorePasswordError";
}
/** The key decrypts, but its address is not the one the file names. */
export class KeystoreAddressError extends KeystoreError {
  override name = "KeystoreAddressError";
}

/** A keystore is a few hundred bytes; anything this large is not one. */
const MAX_FILE_BYTES = 64 * 1024;
/**
 * scrypt's cost is 128·n·r bytes of memory; geth's "standard" setting is n = 2^18, r = 8 (256 MiB).
 * A file asking for more is refused rather than allowed to exhaust the host's memory.
 */
const MAX_SCRYPT_N = 2 ** 18;
const MAX_SCRYPT_R = 8;
const MAX_SCRYPT_P = 16;
const MAX_PBKDF2_ROUNDS = 10_000_000;

const hex = (bytes: number | undefined) =>
  z
    .string()
    .regex(bytes === undefined ? /^(0x)?([0-9a-fA-F]{2})+$/ : new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`), bytes === undefined ? "not hex" : `not ${bytes} bytes of hex`)
    .transform((s) => hexToBytes(s.replace(/^0x/, "")));

const pow2 = (n: number) => Number.isInteger(Math.log2(n));
const scryptParams = z.object({
  dklen: z.literal(32),
  n: z.number().int().min(2).max(MAX_SCRYPT_N).refine(pow2, "must be a power of 2"),
  r: z.number().int().min(1).max(MAX_SCRYPT_R),
  p: z.number().int().min(1).max(MAX_SCRYPT_P),
  salt: hex(undefined),
});
const pbkdf2Params = z.object({
  dklen: z.literal(32),
  c: z.number().int().min(1).max(MAX_PBKDF2_ROUNDS),
  prf: z.literal("hmac-sha256"),
  salt: hex(undefined),
});
const cryptoSection = z.discriminatedUnion("kdf", [
  z.object({ kdf: z.literal("scrypt"), kdfparams: scryptParams }),
  z.object({ kdf: z.literal("pbkdf2"), kdfparams: pbkdf2Params }),
]).and(
  z.object({
    cipher: z.literal("aes-128-ctr"),
    cipherparams: z.object({ iv: hex(16) }),
    ciphertext: hex(32),
    mac: hex(32),
  }),
);
const keystoreFile = z.object({
  version: z.literal(3),
  // geth writes the address; cast does not.
  address: z.string().optional(),
  // Some tools write "Crypto".
  crypto: cryptoSection.optional(),
  Crypto: cryptoSection.optional(),
});

export type DecryptedKey = { privateKey: Hex; address: Address };

/** Read and decrypt the keystore at `path` with `password`. Every failure is a {@link KeystoreError}. */
export async function readKeystore(path: string, password: string): Promise<DecryptedKey> {
  let text: string;
  try {
    if (statSync(path).size > MAX_FILE_BYTES) throw new KeystoreFormatError(path, `not a keystore (larger than ${MAX_FILE_BYTES / 1024} KiB)`);
    text = readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof KeystoreError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new KeystoreFormatError(path, code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : `cannot be read (${code ?? "error"})`);
  }
  return decryptKeystore(path, text, password);
}

/** Decrypt keystore JSON `text` (named `path` in errors) with `password`. */
export async function decryptKeystore(path: string, text: string, password: string): Promise<DecryptedKey> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeystoreFormatError(path, "not a keystore (not valid JSON)");
  }
  const parsed = keystoreFile.safeParse(json);
  if (!parsed.success) {
    throw new KeystoreFormatError(path, `not a v3 keystore (${zodProblems(parsed.error)[0] ?? "invalid"})`);
  }
  const file = parsed.data;
  const c = file.crypto ?? file.Crypto;
  if (!c) throw new KeystoreFormatError(path, "not a v3 keystore (no crypto section)");

  // The password's UTF-8 bytes as given, as cast and geth derive them (no Unicode normalisation).
  const pw = utf8ToBytes(password);
  const derived =
    c.kdf === "scrypt"
      ? await scrypt(pw, c.kdfparams.salt, c.kdfparams.n, c.kdfparams.p, c.kdfparams.r, c.kdfparams.dklen)
      : await pbkdf2(pw, c.kdfparams.salt, c.kdfparams.c, c.kdfparams.dklen, "sha256");
  const mac = keccak256(Uint8Array.from([...derived.subarray(16, 32), ...c.ciphertext]));
  if (!equalsBytes(mac, c.mac)) throw new KeystorePasswordError(path, "wrong password (the keystore's MAC does not match)");

  const key = aesDecrypt(c.ciphertext, derived.subarray(0, 16), c.cipherparams.iv, "aes-128-ctr", false);
  const privateKey = `0x${bytesToHex(key)}` as Hex;
  let address: Address;
  try {
    address = privateKeyToAccount(privateKey).address;
  } catch {
    // No cause: viem's error would quote the key.
    throw new KeystoreFormatError(path, "the decrypted key is not a valid secp256k1 private key");
  }
  if (file.address !== undefined) {
    const named = file.address.startsWith("0x") ? file.address : `0x${file.address}`;
    if (!isAddress(named, { strict: false })) throw new KeystoreFormatError(path, "not a v3 keystore (address: not an address)");
    if (getAddress(named) !== address) {
      throw new KeystoreAddressError(path, `holds the key of ${address}, but the file names ${getAddress(named)}`);
    }
  }
  return { privateKey, address };
}
