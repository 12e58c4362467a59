/**
 * A minimal frontend that speaks raw frames, for protocol tests that real drivers cannot express.
 * Its own startup and authentication are serialized by pg-protocol (node-postgres's codec), not by
 * pgveil's message writer: the proxy's framing is then checked against another implementation.
 */
import { connect, type Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { ScramClientExchange } from '../../proxy/auth/scram';
import { decodeFields } from '../../proxy/pg-error';

export interface BackendFrame {
  readonly code: string;
  readonly body: Buffer;
}

export class RawClient {
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<RawClient> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawClient(socket);
  }

  /** Opens and authenticates (SCRAM) as user/password on database. */
  static async session(port: number, database: string, user = 'analyst', password = user): Promise<RawClient> {
    const c = await RawClient.open(port);
    c.send(serialize.startup({ user, database }));
    await c.expect('R');
    const scram = new ScramClientExchange(password);
    c.send(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.clientFirst()));
    const cont = await c.expect('R');
    c.send(serialize.sendSCRAMClientFinalMessage(scram.clientFinal(cont.body.toString('utf8', 4))));
    await c.until('Z');
    return c;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next frame, or undefined once the server closed the connection. */
  async next(timeoutMs = 10_000): Promise<BackendFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.buffer.length >= 5) {
        const end = 1 + this.buffer.readUInt32BE(1);
        if (this.buffer.length >= end) {
          const frame = { code: String.fromCharCode(this.buffer[0]!), body: this.buffer.subarray(5, end) };
          this.buffer = this.buffer.subarray(end);
          return frame;
        }
      }
      if (this.closed) return undefined;
      if (Date.now() > deadline) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async expect(code: string): Promise<BackendFrame> {
    const f = await this.next();
    if (!f) throw new Error(`connection closed while expecting '${code}'`);
    if (f.code !== code)
      throw new Error(`expected '${code}', got '${f.code}' ${f.code === 'E' ? describeError(f) : ''}`);
    return f;
  }

  /** Frames up to and including the first with `code`. */
  async until(code: string): Promise<BackendFrame[]> {
    const out: BackendFrame[] = [];
    for (;;) {
      const f = await this.next();
      if (!f) throw new Error(`connection closed before '${code}': ${out.map((x) => x.code).join('')}`);
      out.push(f);
      if (f.code === code) return out;
    }
  }

  /** Reads frames until the server closes; returns them. */
  async drainToClose(): Promise<BackendFrame[]> {
    const out: BackendFrame[] = [];
    for (let f = await this.next(); f; f = await this.next()) out.push(f);
    return out;
  }

  close(): void {
    this.socket.destroy();
  }
}

function describeError(f: BackendFrame): string {
  const fields = decodeFields(Buffer.concat([Buffer.from([0x45, 0, 0, 0, 0]), f.body]));
  return `${fields.get('C')}: ${fields.get('M')}`;
}

export function errorFields(f: BackendFrame): Map<string, string> {
  return decodeFields(Buffer.concat([Buffer.from([0x45, 0, 0, 0, 0]), f.body]));
}
