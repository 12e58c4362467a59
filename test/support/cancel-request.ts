/**
 * A CancelRequest sent the way libpq's PQcancel sends it: on a connection of its own, waiting until
 * the server closes it.
 */
import { connect } from 'node:net';

const CANCEL_REQUEST_CODE = 80877102;

/** Resolves when the server has closed the cancel connection (PostgreSQL does once the signal is sent). */
export function sendCancelRequest(port: number, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    packet.writeInt32BE(processId, 8);
    packet.writeInt32BE(secretKey, 12);
    socket.setTimeout(10_000, () => socket.destroy(new Error('the server kept the cancel connection open')));
    socket.once('connect', () => socket.write(packet));
    socket.once('error', reject);
    socket.once('close', () => resolve());
  });
}

/** The BackendKeyData node-postgres received (it keeps them on the client). */
export function keyOf(client: object): { processId: number; secretKey: number } {
  const { processID, secretKey } = client as { processID: number; secretKey: number };
  return { processId: processID, secretKey };
}
