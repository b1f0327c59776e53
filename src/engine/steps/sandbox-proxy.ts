// The way out for a sandboxed script with WEFT_SCRIPTS_NETWORK=outbound: an HTTP proxy (CONNECT
// tunnels and absolute-form http:// requests, by proxy-chain) on a unix socket in the attempt's run
// directory, which is the only thing of the host's network the sandbox can reach. Every request
// is decided by the same WEFT_OUTBOUND_ALLOW policy as http_request, after DNS resolution, and
// the connection goes to the very addresses that were checked (no second lookup to rebind).
// One proxy per attempt: when the attempt ends, so does every connection it opened.
import { chmod } from 'node:fs/promises';
import { Agent } from 'node:http';
import { createServer } from 'node:net';
import { RequestError, Server } from 'proxy-chain';
import { OutboundBlockedError, type ResolvedAddress } from '../outbound.ts';
import { coerceError } from '../../errors.ts';

export interface SandboxProxy {
  close(): Promise<void>;
}

export interface SandboxProxyOptions {
  socketPath: string;
  /** The outbound policy (StepEnvironment.resolveOutbound). */
  resolve: (host: string) => Promise<ResolvedAddress[]>;
  /** Told about each request it does not forward (refused, or the name does not resolve), for the step log. */
  onRefused: (message: string) => void;
}

type LookupCallback = (error: Error | null, address: string | ResolvedAddress[], family?: number) => void;

/** A lookup that answers with addresses already checked. */
function pinnedLookup(addresses: ResolvedAddress[]) {
  return (_hostname: string, options: { all?: boolean }, callback: LookupCallback) =>
    options.all ? callback(null, addresses) : callback(null, addresses[0]!.address, addresses[0]!.family);
}

export async function startSandboxProxy({
  socketPath,
  resolve,
  onRefused,
}: SandboxProxyOptions): Promise<SandboxProxy> {
  // Not the global agent: no connection outlives the attempt, none is shared between attempts.
  const httpAgent = new Agent({ keepAlive: false });
  const proxy = new Server({
    prepareRequestFunction: async ({ hostname, port, isHttp }) => {
      try {
        return { dnsLookup: pinnedLookup(await resolve(hostname)) as never, httpAgent };
      } catch (error) {
        const blocked = error instanceof OutboundBlockedError;
        const message = blocked ? error.message : `Could not resolve ${hostname}: ${coerceError(error).message}`;
        onRefused(`${isHttp ? 'HTTP request to' : 'CONNECT'} ${hostname}:${port}: ${message}`);
        throw new RequestError(message, blocked ? 403 : 502);
      }
    },
  });
  // proxy-chain listens on TCP only; a unix socket's connections are handed to its HTTP server
  // (injecting connections is a documented use of http.Server's 'connection' event). It drops a
  // connection without a remote address (a guard against a Node quirk), and a unix socket peer
  // has none, so it gets a name.
  const listener = createServer((socket) => {
    Object.defineProperty(socket, 'remoteAddress', { value: 'script-sandbox' });
    proxy.server.emit('connection', socket);
  });
  await new Promise<void>((resolveListen, reject) => {
    listener.once('error', reject);
    listener.listen(socketPath, () => {
      listener.off('error', reject);
      resolveListen();
    });
  });
  await chmod(socketPath, 0o600);
  return {
    async close() {
      const closed = new Promise<void>((done) => listener.close(() => done()));
      proxy.closeConnections();
      httpAgent.destroy();
      await closed;
    },
  };
}
