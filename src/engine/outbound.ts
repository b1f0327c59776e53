// Outbound HTTP for steps and webhooks, refusing private, loopback, link-local and other
// non-public addresses (SSRF protection) unless WEFT_OUTBOUND_ALLOW allows them.
//
// The address is checked where it is actually used: at connect time, after DNS resolution, by
// an undici Agent whose `lookup` refuses blocked addresses — so a hostname that resolves (or
// re-resolves, DNS rebinding) to an internal address is refused. Literal IPs skip DNS, so they are
// checked before connecting, and redirects are followed here, one checked hop at a time.
// The same policy object decides for the HTTP proxy of sandboxed scripts (steps/sandbox-proxy.ts).
import { lookup as dnsLookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { Agent, fetch as undiciFetch } from 'undici';
import { NonRetriableError } from './steps/types.ts';

const MAX_REDIRECTS = 5;

export type OutboundFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

export class OutboundBlockedError extends NonRetriableError {
  override name = 'OutboundBlockedError';
}

interface Rules {
  ranges: Set<string>;
  cidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  hosts: Set<string>;
}

/** WEFT_OUTBOUND_ALLOW: comma-separated `loopback`, `private`, `linkLocal`, `uniqueLocal`, CIDRs (10.0.0.0/8) or host names. */
export function parseOutboundAllow(entries: string[]): Rules {
  const rules: Rules = { ranges: new Set(), cidrs: [], hosts: new Set() };
  for (const raw of entries.map((e) => e.trim()).filter(Boolean)) {
    if (['loopback', 'private', 'linkLocal', 'uniqueLocal', 'carrierGradeNat'].includes(raw)) rules.ranges.add(raw);
    else if (raw.includes('/')) rules.cidrs.push(ipaddr.parseCIDR(raw));
    else rules.hosts.add(raw.toLowerCase());
  }
  return rules;
}

/**
 * The address as it will be routed: IPv6 forms that carry an IPv4 address in their last 32 bits
 * are judged as that IPv4 address — IPv4-mapped (::ffff:a.b.c.d) and the deprecated
 * IPv4-compatible ::/96 (::7f00:1 is 127.0.0.1, which ipaddr.js calls plain unicast). Other
 * embeddings (NAT64 64:ff9b::/96, 6to4, Teredo) are ranges of their own, refused by default.
 */
function normalise(address: string): ipaddr.IPv4 | ipaddr.IPv6 {
  const parsed = ipaddr.parse(address);
  if (parsed.kind() !== 'ipv6') return parsed;
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const parts = v6.parts;
  // ::/96 minus :: and ::1, which are the unspecified and loopback addresses themselves.
  if (parts.slice(0, 6).every((p) => p === 0) && (parts[6] !== 0 || parts[7]! > 1)) {
    return ipaddr.fromByteArray([parts[6]! >> 8, parts[6]! & 0xff, parts[7]! >> 8, parts[7]! & 0xff]);
  }
  return v6;
}

/** Why an address may not be contacted, or null when it may. */
export function blockedReason(address: string, rules: Rules): string | null {
  const ip = normalise(address);
  const range = ip.range();
  if (range === 'unicast') return null;
  if (rules.ranges.has(range)) return null;
  if (rules.cidrs.some(([net, bits]) => net.kind() === ip.kind() && ip.match(net as never, bits))) return null;
  return `${address} is a ${range} address`;
}

/** An address a host name resolved to (the shape of dns.lookup's `all` results). */
export interface ResolvedAddress {
  address: string;
  family: number;
}

/**
 * WEFT_OUTBOUND_ALLOW as one object, shared by everything that connects out for a workflow:
 * the fetch of http_request, webhook and agent_task, and the proxy of sandboxed scripts.
 */
export interface OutboundPolicy {
  /** The addresses `host` (a name or an IP literal) may be contacted at; throws OutboundBlockedError when it may not. */
  resolve(host: string): Promise<ResolvedAddress[]>;
}

function refused(host: string, reason: string) {
  return new OutboundBlockedError(
    `Outbound request to ${host} refused: ${reason}. Allow it with WEFT_OUTBOUND_ALLOW (e.g. "loopback", "private", a CIDR or the host name).`,
  );
}

export function createOutboundPolicy(allow: string[]): OutboundPolicy {
  const rules = parseOutboundAllow(allow);
  return {
    async resolve(host) {
      const bare = host.replace(/^\[|\]$/g, '');
      const allowedByName = rules.hosts.has(bare.toLowerCase());
      if (ipaddr.isValid(bare)) {
        const reason = allowedByName ? null : blockedReason(bare, rules);
        if (reason) throw refused(bare, reason);
        return [{ address: bare, family: ipaddr.parse(bare).kind() === 'ipv6' ? 6 : 4 }];
      }
      const addresses = await dnsLookup(bare, { all: true });
      // Every address must pass: a client may connect to any of them.
      for (const { address } of allowedByName ? [] : addresses) {
        const reason = blockedReason(address, rules);
        if (reason) throw refused(bare, reason);
      }
      return addresses;
    },
  };
}

type LookupCallback = (error: Error | null, address: string | ResolvedAddress[], family?: number) => void;

/** A `lookup` for net/http/undici that answers with addresses the policy allows, or fails. */
export function policyLookup(policy: OutboundPolicy) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback) => {
    policy.resolve(hostname).then(
      (addresses) =>
        options.all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family),
      (error: Error) => callback(error, []),
    );
  };
}

export function createOutboundFetch(allow: string[] | OutboundPolicy): OutboundFetch {
  const policy = Array.isArray(allow) ? createOutboundPolicy(allow) : allow;
  const agent = new Agent({ connect: { lookup: policyLookup(policy) as never } });

  return async (input, init = {}) => {
    let url = new URL(String(input));
    let options = { ...init };
    for (let hop = 0; ; hop++) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new OutboundBlockedError(
          `Outbound request refused: only http and https URLs are allowed (got ${url.protocol})`,
        );
      // Literal IPs skip DNS (and so the agent's lookup): check them before connecting.
      if (ipaddr.isValid(url.hostname.replace(/^\[|\]$/g, ''))) await policy.resolve(url.hostname);
      let response: Response;
      try {
        response = (await undiciFetch(url, {
          ...(options as object),
          redirect: 'manual',
          dispatcher: agent,
        } as never)) as unknown as Response;
      } catch (error) {
        const cause = (error as { cause?: unknown }).cause;
        if (cause instanceof OutboundBlockedError) throw cause;
        throw error;
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location || (init.redirect ?? 'follow') !== 'follow')
        return response;
      if (hop >= MAX_REDIRECTS)
        throw new NonRetriableError(`Too many redirects (more than ${MAX_REDIRECTS}) from ${String(input)}`);
      await response.body?.cancel();
      url = new URL(location, url);
      // 303 (and 301/302 for POST, as browsers do) turn into a GET without a body.
      if (
        response.status === 303 ||
        ((response.status === 301 || response.status === 302) && (options.method ?? 'GET').toUpperCase() === 'POST')
      ) {
        options = { ...options, method: 'GET', body: undefined };
      }
    }
  };
}
