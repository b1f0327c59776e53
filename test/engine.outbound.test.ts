// SSRF protection: outbound requests refuse loopback, private and link-local addresses — as
// literals, after DNS resolution, and behind redirects — unless WEFT_OUTBOUND_ALLOW allows them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  blockedReason,
  createOutboundFetch,
  OutboundBlockedError,
  parseOutboundAllow,
} from '../src/engine/outbound.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, startRun, stepsOf, waitForRun } from './helpers/runs.ts';

let target: LoopbackServer;
let redirector: LoopbackServer;
beforeAll(async () => {
  target = await startLoopbackServer((_req, res) => json(res, 200, { reached: true }));
  redirector = await startLoopbackServer(
    (_req, res) => void (res.writeHead(302, { location: `${target.url}/inside` }), res.end()),
  );
});
afterAll(async () => {
  await target?.close();
  await redirector?.close();
});

describe('address policy', () => {
  it('classifies addresses and honours allow rules', () => {
    const none = parseOutboundAllow([]);
    expect(blockedReason('93.184.216.34', none)).toBeNull();
    for (const address of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.0.10',
      '172.16.5.4',
      '169.254.169.254',
      '::1',
      'fe80::1',
      '::ffff:127.0.0.1',
      '0.0.0.0',
      'fd00::1',
    ]) {
      expect(blockedReason(address, none), address).not.toBeNull();
    }
    expect(blockedReason('127.0.0.1', parseOutboundAllow(['loopback']))).toBeNull();
    expect(blockedReason('10.1.2.3', parseOutboundAllow(['10.0.0.0/8']))).toBeNull();
    expect(blockedReason('10.1.2.3', parseOutboundAllow(['loopback']))).toMatch(/private/);
  });

  it('judges every IPv6 form that embeds an IPv4 address by that address, or refuses it', async () => {
    const none = parseOutboundAllow([]);
    const octets = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
    const hex = ([a, b, c, d]: number[]) => `${((a! << 8) | b!).toString(16)}:${((c! << 8) | d!).toString(16)}`;
    // Generated addresses in every non-public IPv4 range (first, last and a middle one).
    const ranges: [string, number, number][] = [
      ['loopback', 0x7f000000, 0x7fffffff],
      ['private 10/8', 0x0a000000, 0x0affffff],
      ['private 172.16/12', 0xac100000, 0xac1fffff],
      ['private 192.168/16', 0xc0a80000, 0xc0a8ffff],
      ['link-local', 0xa9fe0000, 0xa9feffff],
      ['carrier-grade NAT', 0x64400000, 0x647fffff],
      ['this network', 0x00000001, 0x00ffffff],
      ['reserved', 0xf0000000, 0xfffffffe],
    ];
    const failures: string[] = [];
    for (const [name, first, last] of ranges) {
      for (const n of [first, last, first + Math.floor((last - first) / 3)]) {
        const v4 = octets(n);
        const dotted = v4.join('.');
        const forms = [
          dotted,
          `::ffff:${dotted}`,
          `::ffff:${hex(v4)}`,
          `::${dotted}`,
          `::${hex(v4)}`,
          `0:0:0:0:0:0:${hex(v4)}`,
          `64:ff9b::${hex(v4)}`,
          `2002:${hex(v4)}::1`,
        ];
        for (const form of forms) if (blockedReason(form, none) === null) failures.push(`${form} (${name})`);
      }
    }
    expect(failures).toEqual([]);
    // A public address keeps its verdict in the IPv4-compatible and -mapped forms.
    for (const form of ['93.184.216.34', '::ffff:93.184.216.34', '::5db8:d822'])
      expect(blockedReason(form, none), form).toBeNull();
    // The literal is refused before any connection is attempted.
    const strict = createOutboundFetch([]);
    for (const host of ['[::7f00:1]', '[::a9fe:a9fe]', '[::ffff:7f00:1]'])
      await expect(strict(`http://${host}:${new URL(target.url).port}/x`), host).rejects.toBeInstanceOf(
        OutboundBlockedError,
      );
  });

  it('refuses loopback literals, hostnames resolving to loopback, and redirects into loopback', async () => {
    const strict = createOutboundFetch([]);
    await expect(strict(`${target.url}/x`)).rejects.toBeInstanceOf(OutboundBlockedError);
    await expect(strict(`${target.url.replace('127.0.0.1', 'localhost')}/x`)).rejects.toThrow(
      /refused: (127\.0\.0\.1|::1) is a loopback address/,
    );
    // "localhost" is allowed by name, but its redirect goes to the literal 127.0.0.1: refused.
    const byName = createOutboundFetch(['localhost']);
    const direct = await byName(`${redirector.url.replace('127.0.0.1', 'localhost')}/x`, { redirect: 'manual' });
    expect(direct.status).toBe(302);
    await expect(byName(`${redirector.url.replace('127.0.0.1', 'localhost')}/x`)).rejects.toThrow(
      /127\.0\.0\.1 refused/,
    );
    expect(target.hits('/inside')).toBe(0);
    const allowed = createOutboundFetch(['loopback']);
    expect(await (await allowed(`${redirector.url}/x`)).json()).toEqual({ reached: true });
  });
});

describe('in runs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ WEFT_OUTBOUND_ALLOW: '', WEFT_ENGINE_POLL_MS: '50' });
    await t.app.engine.start();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('fails an http_request to a loopback address at once, without retrying, when not allowed', async () => {
    const wf = await createWorkflow(t, {
      steps: [
        {
          id: 'peek',
          type: 'http_request',
          config: { url: `${target.url}/secret` },
          retry: { attempts: 5, backoffSeconds: 0.01 },
        },
      ],
    });
    const run = await startRun(t, wf);
    expect((await waitForRun(t, run)).status).toBe('FAILED');
    const steps = await stepsOf(t, run);
    expect(steps.peek).toMatchObject({ status: 'FAILED', attempt: 1 });
    expect(steps.peek!.error).toMatchObject({
      message: expect.stringMatching(/refused: 127\.0\.0\.1 is a loopback address\. Allow it with WEFT_OUTBOUND_ALLOW/),
    });
    expect(target.hits('/secret')).toBe(0);
  });
});
