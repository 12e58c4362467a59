/**
 * The floor for any proxy written for Node.js: a relay that copies bytes between client and
 * PostgreSQL and does nothing else (no parsing, no audit). Measured beside pgveil in the same run,
 * it shows how much of pgveil's cost is the runtime's socket I/O rather than pgveil's own work.
 *
 *   node dist/bench/node-relay.js <listen port> <upstream port>
 */
import { connect, createServer } from 'node:net';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);

createServer((client) => {
  const upstream = connect({ host: '127.0.0.1', port: upstreamPort! });
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
}).listen(listenPort, '127.0.0.1');

// A clean exit on Ctrl-C, so that a profile asked for with --cpu-prof is written.
process.on('SIGINT', () => process.exit(0));
