/**
 * Keystores for tests: real ones written by the project's `cast wallet import`, and crafted ones
 * (any kdf parameters, fields removed or altered) encrypted here with ethereum-cryptography at small
 * cost so a test stays fast. Not a test file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { encrypt as aesEncrypt } from 'ethereum-cryptography/aes.js';
import { keccak256 } from 'ethereum-cryptography/keccak.js';
import { pbkdf2Sync } from 'ethereum-cryptography/pbkdf2.js';
import { getRandomBytesSync } from 'ethereum-cryptography/random.js';
import { scryptSync } from 'ethereum-cryptography/scrypt.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from 'ethereum-cryptography/utils.js';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { cast } from './cli.ts';

export type KeystoreJson = {
  version: number;
  id?: string;
  address?: string;
  crypto: {
    cipher: string;
    cipherparams: { iv: string };
    ciphertext: string;
    kdf: string;
    kdfparams: Record<string, unknown>;
    mac: string;
  };
};

/**
 * A v3 keystore of `privateKey` under `password`. scrypt at n = 16 by default (cast writes 8192);
 * `address: true` adds the address field as geth writes it (no 0x, lower case).
 */
export function encryptKeystore(
  privateKey: Hex,
  password: string,
  opts: { kdf?: 'scrypt' | 'pbkdf2'; n?: number; address?: boolean } = {},
): KeystoreJson {
  const salt = getRandomBytesSync(32);
  const iv = getRandomBytesSync(16);
  const pw = utf8ToBytes(password);
  const kdf = opts.kdf ?? 'scrypt';
  const n = opts.n ?? 16;
  const derived = kdf === 'scrypt' ? scryptSync(pw, salt, n, 1, 8, 32) : pbkdf2Sync(pw, salt, 1000, 32, 'sha256');
  const ciphertext = aesEncrypt(hexToBytes(privateKey.slice(2)), derived.subarray(0, 16), iv, 'aes-128-ctr', false);
  const mac = keccak256(Uint8Array.from([...derived.subarray(16, 32), ...ciphertext]));
  const kdfparams =
    kdf === 'scrypt' ? { dklen: 32, n, p: 1, r: 8, salt: bytesToHex(salt) } : { dklen: 32, c: 1000, prf: 'hmac-sha256', salt: bytesToHex(salt) };
  return {
    version: 3,
    id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
    ...(opts.address ? { address: privateKeyToAccount(privateKey).address.slice(2).toLowerCase() } : {}),
    crypto: { cipher: 'aes-128-ctr', cipherparams: { iv: bytesToHex(iv) }, ciphertext: bytesToHex(ciphertext), kdf, kdfparams, mac: bytesToHex(mac) },
  };
}

/** The keystore file `cast wallet import` writes for `privateKey` into `dir`, as text. */
export async function castKeystore(dir: string, name: string, privateKey: Hex, password: string): Promise<string> {
  await cast(['wallet', 'import', name, '--keystore-dir', dir, '--private-key', privateKey, '--unsafe-password', password]);
  return readFileSync(path.join(dir, name), 'utf8');
}
