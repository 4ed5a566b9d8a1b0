/**
 * Issue 14, transports: the RPC URLs of a command. `--rpc` repeatable and comma-separated,
 * KEEPER_RPC_URLS (commas, spaces or lines; or the file KEEPER_RPC_URLS_FILE names), http(s) and
 * ws(s); the send relays of `run` from `--send-rpc` or KEEPER_SEND_RPC_URLS[_FILE]. A bad URL is
 * one line that never quotes it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError, parseFlags } from '../../src/cli/command.ts';
import { rpcUrls, sendRpcUrls } from '../../src/cli/rpcUrl.ts';
import { runCommand } from '../../src/cli/run.ts';
import { ConfigError } from '../../src/lib/errors.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'perp-keeper-rpc-urls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const SECRET = 'k3y-0f-th3-pr0v1d3r-abcdef';
const io = (env: Record<string, string>) => ({ env, cwd: dir });

describe('rpcUrls', () => {
  it('--rpc given twice and comma-separated: every URL, in order', () => {
    const flags = parseFlags('run', ['--rpc', 'http://a.example/x,wss://b.example/y', '--rpc', 'https://c.example'], runCommand.options);
    expect(rpcUrls('run', flags.rpc, io({}))).toEqual(['http://a.example/x', 'wss://b.example/y', 'https://c.example']);
  });

  it('a flag that is not repeatable still refuses a second value', () => {
    expect(() => parseFlags('run', ['--deployment', 'a', '--deployment', 'b'], runCommand.options)).toThrow(/--deployment is given more than once/);
  });

  it.each([
    ['commas', 'http://a.example, ws://b.example:8546'],
    ['lines', 'http://a.example\nws://b.example:8546\n'],
  ])('KEEPER_RPC_URLS separated by %s', (_name, value) => {
    expect(rpcUrls('status', undefined, io({ KEEPER_RPC_URLS: value }))).toEqual(['http://a.example', 'ws://b.example:8546']);
  });

  it('KEEPER_RPC_URLS_FILE, one URL a line', () => {
    writeFileSync(path.join(dir, 'rpc.txt'), `https://a.example/${SECRET}\nwss://b.example/${SECRET}\n`);
    expect(rpcUrls('run', undefined, io({ KEEPER_RPC_URLS_FILE: 'rpc.txt' }))).toEqual([`https://a.example/${SECRET}`, `wss://b.example/${SECRET}`]);
  });

  it('--rpc wins over the variable', () => {
    expect(rpcUrls('run', 'http://flag.example', io({ KEEPER_RPC_URLS: 'not a url' }))).toEqual(['http://flag.example']);
  });

  it.each([
    ['a bad flag URL', () => rpcUrls('run', `ftp://x/${SECRET}`, io({})), UsageError, /^run: --rpc must be an http\(s\) or ws\(s\) URL$/],
    ['the second of two flag URLs bad', () => rpcUrls('run', `http://a.example,${SECRET}`, io({})), UsageError, /^run: --rpc: URL 2 of 2 is not an http\(s\) or ws\(s\) URL$/],
    ['the same URL twice', () => rpcUrls('run', 'http://a.example,http://a.example', io({})), UsageError, /^run: --rpc: URL 2 of 2 is listed twice$/],
    ['a bad URL in the variable', () => rpcUrls('run', undefined, io({ KEEPER_RPC_URLS: `http://a.example,${SECRET}` })), ConfigError, /^KEEPER_RPC_URLS: URL 2 of 2 is not an http\(s\) or ws\(s\) URL$/],
    ['a bad send relay', () => sendRpcUrls('run', undefined, io({ KEEPER_SEND_RPC_URLS: SECRET })), ConfigError, /^KEEPER_SEND_RPC_URLS: not an http\(s\) or ws\(s\) URL$/],
    ['a bad --send-rpc', () => sendRpcUrls('run', `mailto:${SECRET}`, io({})), UsageError, /^run: --send-rpc must be an http\(s\) or ws\(s\) URL$/],
  ] as const)('%s: one line, the URL not quoted', (_name, f, cls, match) => {
    let caught: unknown;
    try {
      f();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(cls);
    expect((caught as Error).message).toMatch(match);
    expect((caught as Error).message).not.toContain(SECRET);
  });

  it('send relays: --send-rpc repeatable, else the variable, else none', () => {
    const flags = parseFlags('run', ['--send-rpc', 'https://relay.example', '--send-rpc', 'https://relay2.example'], runCommand.options);
    expect(sendRpcUrls('run', flags['send-rpc'], io({}))).toEqual(['https://relay.example', 'https://relay2.example']);
    expect(sendRpcUrls('run', undefined, io({ KEEPER_SEND_RPC_URLS: 'https://r.example' }))).toEqual(['https://r.example']);
    expect(sendRpcUrls('run', undefined, io({}))).toEqual([]);
  });
});
