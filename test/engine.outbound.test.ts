// SSRF protection: outbound requests refuse loopback, private and link-local addresses — as
// literals, after DNS resolution, and behind redirects — unless WEFT_OUTBOUND_ALLOW allows them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blockedReason, createOutboundFetch, OutboundBlockedError, parseOutboundAllow } from '../src/engine/outbound.ts';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { json, startLoopbackServer, type LoopbackServer } from './helpers/http-server.ts';
import { createWorkflow, startRun, stepsOf, waitForRun } from './helpers/runs.ts';

let target: LoopbackServer;
let redirector: LoopbackServer;
beforeAll(async () => {
  target = await startLoopbackServer((_req, res) => json(res, 200, { reached: true }));
  redirector = await startLoopbackServer((_req, res) => void (res.writeHead(302, { location: `${target.url}/inside` }), res.end()));
});
afterAll(async () => {
  await target?.close();
  await redirector?.close();
});

describe('address policy', () => {
  it('classifies addresses and honours allow rules', () => {
    const none = parseOutboundAllow([]);
    expect(blockedReason('93.184.216.34', none)).toBeNull();
    for (const address of ['127.0.0.1', '10.1.2.3', '192.168.0.10', '172.16.5.4', '169.254.169.254', '::1', 'fe80::1', '::ffff:127.0.0.1', '0.0.0.0', 'fd00::1']) {
      expect(blockedReason(address, none), address).not.toBeNull();
    }
    expect(blockedReason('127.0.0.1', parseOutboundAllow(['loopback']))).toBeNull();
    expect(blockedReason('10.1.2.3', parseOutboundAllow(['10.0.0.0/8']))).toBeNull();
    expect(blockedReason('10.1.2.3', parseOutboundAllow(['loopback']))).toMatch(/private/);
  });

  it('refuses loopback literals, hostnames resolving to loopback, and redirects into loopback', async () => {
    const strict = createOutboundFetch([]);
    await expect(strict(`${target.url}/x`)).rejects.toBeInstanceOf(OutboundBlockedError);
    await expect(strict(`${target.url.replace('127.0.0.1', 'localhost')}/x`)).rejects.toThrow(/refused: (127\.0\.0\.1|::1) is a loopback address/);
    // "localhost" is allowed by name, but its redirect goes to the literal 127.0.0.1: refused.
    const byName = createOutboundFetch(['localhost']);
    const direct = await byName(`${redirector.url.replace('127.0.0.1', 'localhost')}/x`, { redirect: 'manual' });
    expect(direct.status).toBe(302);
    await expect(byName(`${redirector.url.replace('127.0.0.1', 'localhost')}/x`)).rejects.toThrow(/127\.0\.0\.1 refused/);
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
    const wf = await createWorkflow(t, { steps: [{ id: 'peek', type: 'http_request', config: { url: `${target.url}/secret` }, retry: { attempts: 5, backoffSeconds: 0.01 } }] });
    const run = await startRun(t, wf);
    expect((await waitForRun(t, run)).status).toBe('FAILED');
    const steps = await stepsOf(t, run);
    expect(steps.peek).toMatchObject({ status: 'FAILED', attempt: 1 });
    expect((steps.peek!.error as any).message).toMatch(/refused: 127\.0\.0\.1 is a loopback address\. Allow it with WEFT_OUTBOUND_ALLOW/);
    expect(target.hits('/secret')).toBe(0);
  });
});
