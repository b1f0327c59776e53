// Raw HTTP/1.1 over a socket, for request targets, Host headers and framings fetch refuses to send.
import { connect } from 'node:net';

/**
 * Writes the request (one string, or chunks written in order) to the server of `url` and resolves,
 * when the server closes the connection (bounded: 15 s), with the status and the response body.
 */
export async function sendRawHttp(url: string, request: string | Buffer[]): Promise<{ status: number; text: string }> {
  const { port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let response = '';
    const timer = setTimeout(() => socket.destroy(), 15_000);
    socket.on('data', (chunk) => (response += chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? -1);
      resolve({ status, text: response.split('\r\n\r\n').slice(1).join('\r\n\r\n') });
    });
    socket.on('error', () => undefined);
    if (typeof request === 'string') socket.write(request);
    else
      void (async () => {
        for (const chunk of request)
          if (!socket.destroyed) await new Promise<void>((done) => socket.write(chunk, () => done()));
      })();
  });
}
