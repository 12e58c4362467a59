/**
 * The client's socket and the bytes it sent that are not handled yet. The socket changes once,
 * when TLS starts; reading pauses while more than a few MB wait, so a client that sends faster
 * than upstream answers cannot grow pgveil's memory without bound.
 */
import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { FrontendDecoder } from '../protocol/frontend-decoder';

const CLIENT_BUFFER_HIGH_WATER = 4 * 1024 * 1024;

export class ClientConnection {
  readonly decoder: FrontendDecoder;

  constructor(
    private current: Socket,
    maxMessageBytes: number,
    private readonly hooks: { readonly received: () => void; readonly gone: () => void },
  ) {
    this.decoder = new FrontendDecoder(maxMessageBytes);
    current.setNoDelay(true);
    this.attach(current);
  }

  get socket(): Socket {
    return this.current;
  }

  get tls(): boolean {
    return this.current instanceof TLSSocket;
  }

  get address(): string {
    return this.current.remoteAddress ?? 'unknown';
  }

  upgradeToTls(context: SecureContext): void {
    const plain = this.current;
    plain.removeAllListeners('data');
    plain.removeAllListeners('error');
    plain.removeAllListeners('close');
    this.current = new TLSSocket(plain, { isServer: true, secureContext: context });
    this.attach(this.current);
  }

  /** Reading goes on once what waits is under the high-water mark again. */
  resumeIfDrained(): void {
    if (this.decoder.buffered <= CLIENT_BUFFER_HIGH_WATER && this.current.isPaused()) this.current.resume();
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      if (this.decoder.buffered > CLIENT_BUFFER_HIGH_WATER) socket.pause();
      this.hooks.received();
    });
    socket.on('error', this.hooks.gone);
    socket.on('close', this.hooks.gone);
  }
}
