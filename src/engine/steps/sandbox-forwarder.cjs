// Runs INSIDE a script sandbox with WEFT_SCRIPTS_NETWORK=outbound, as
//   node -e <this file> -- <port> <socket> <command> [args…]
// The sandbox has its own network namespace holding nothing but its own loopback. This listens
// on 127.0.0.1:<port> there (where HTTP_PROXY points) and relays every connection to <socket>,
// the unix socket of Weft's proxy outside, which applies WEFT_OUTBOUND_ALLOW. Once listening it
// runs the script and exits with its status. It enforces nothing itself: the script may
// bypass it and talk to the socket directly, and reach exactly the same.
'use strict';
const net = require('node:net');
const { spawn } = require('node:child_process');
const { constants } = require('node:os');

const [port, socketPath, command, ...args] = process.argv.slice(1);

// allowHalfOpen: a client that shuts down its sending side still gets the whole response.
const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ path: socketPath, allowHalfOpen: true });
  client.pipe(upstream);
  upstream.pipe(client);
  const drop = () => (client.destroy(), upstream.destroy());
  client.on('error', drop).on('close', drop);
  upstream.on('error', drop).on('close', drop);
});

server.listen(Number(port), '127.0.0.1', () => {
  const child = spawn(command, args, { stdio: 'inherit' });
  // Weft signals the whole process group: the script decides how to end, and this waits for it.
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) process.on(signal, () => {});
  child.on('error', (error) => {
    process.stderr.write(`cannot start ${command}: ${error.message}\n`);
    process.exit(127);
  });
  child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
});
