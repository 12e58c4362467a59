/**
 * Opens pgveil's own connection to a data product with the service account: TLS negotiation,
 * startup, authentication (trust, cleartext, md5, SCRAM-SHA-256), and the server's parameters.
 * After that the session relays raw frames over `socket`. Nothing the upstream says about its
 * credentials is passed on: failures become a generic 08001/08006 for the client.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createHash } from 'node:crypto';
import { AuthCode, BackendCode } from '../protocol/message-codes';
import * as write from '../protocol/message-writer';
import { decodeFields, PgError } from '../pg-error';
import { ScramClientExchange } from '../auth/scram';
import type { UpstreamTarget } from './upstream-target';
import { BackendFrameReader } from './backend-frame-reader';

export interface UpstreamSession {
  readonly socket: Socket;
  readonly parameters: ReadonlyArray<readonly [string, string]>;
  readonly processId: number;
  readonly secretKey: number;
  /** Bytes received after ReadyForQuery (none in practice; kept so nothing is lost). */
  readonly leftover: Buffer;
}

const unavailable = (why: string): PgError =>
  new PgError('08001', `data product upstream is unavailable: ${why}`, 'FATAL');

export async function openUpstream(
  target: UpstreamTarget,
  startupParameters: ReadonlyMap<string, string>,
): Promise<UpstreamSession> {
  const timeoutMs = target.connectTimeoutMs ?? 5000;
  const socket = await withTimeout(connectSocket(target), timeoutMs, 'connection timed out');
  try {
    return await withTimeout(startup(socket, target, startupParameters), timeoutMs, 'startup timed out');
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

async function connectSocket(target: UpstreamTarget): Promise<Socket> {
  const plain = await new Promise<Socket>((resolve, reject) => {
    const s = netConnect({ host: target.host, port: target.port });
    s.setNoDelay(true);
    s.once('connect', () => resolve(s));
    s.once('error', (e) => reject(unavailable((e as NodeJS.ErrnoException).code ?? 'connection failed')));
  });
  const mode = target.ssl?.mode ?? 'disable';
  if (mode === 'disable') return plain;
  plain.write(write.sslRequest());
  const answer = await new Promise<number>((resolve, reject) => {
    plain.once('data', (d: Buffer) => resolve(d[0]!));
    plain.once('error', () => reject(unavailable('connection failed')));
  });
  if (answer !== 0x53) {
    plain.destroy();
    throw unavailable('upstream does not accept TLS');
  }
  return new Promise<Socket>((resolve, reject) => {
    const secure = tlsConnect({
      socket: plain,
      servername: target.host,
      ca: target.ssl?.ca,
      rejectUnauthorized: mode === 'verify-full',
    });
    secure.once('secureConnect', () => resolve(secure));
    secure.once('error', () => reject(unavailable('TLS handshake with upstream failed')));
  });
}

function startup(
  socket: Socket,
  target: UpstreamTarget,
  parameters: ReadonlyMap<string, string>,
): Promise<UpstreamSession> {
  return new Promise((resolve, reject) => {
    const reader = new BackendFrameReader();
    const statuses: Array<[string, string]> = [];
    let key = { processId: 0, secretKey: 0 };
    let scram: ScramClientExchange | undefined;
    const fail = (error: PgError): void => {
      socket.off('data', onData);
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      reader.push(chunk);
      try {
        for (let f = reader.next(); f; f = reader.next()) {
          const code = f[0];
          if (code === BackendCode.Authentication) {
            const auth = f.readInt32BE(5);
            if (auth === AuthCode.Ok) continue;
            const password = target.password;
            if (password === undefined) return fail(unavailable('service account authentication failed'));
            if (auth === AuthCode.CleartextPassword) socket.write(write.passwordMessage(password));
            else if (auth === AuthCode.MD5Password)
              socket.write(write.passwordMessage(md5Password(target.user, password, f.subarray(9, 13))));
            else if (auth === AuthCode.SASL) {
              scram = new ScramClientExchange(password);
              socket.write(write.saslInitialResponse('SCRAM-SHA-256', scram.clientFirst()));
            } else if (auth === AuthCode.SASLContinue && scram)
              socket.write(write.saslResponse(scram.clientFinal(f.toString('utf8', 9))));
            else if (auth === AuthCode.SASLFinal && scram) {
              if (!scram.verifyServerFinal(f.toString('utf8', 9)))
                return fail(unavailable('upstream server signature did not verify'));
            } else return fail(unavailable(`unsupported upstream authentication method ${auth}`));
          } else if (code === BackendCode.ParameterStatus) {
            const body = f.toString('utf8', 5, f.length - 1).split('\0');
            statuses.push([body[0] ?? '', body[1] ?? '']);
          } else if (code === BackendCode.BackendKeyData) {
            key = { processId: f.readInt32BE(5), secretKey: f.readInt32BE(9) };
          } else if (code === BackendCode.ErrorResponse) {
            const fields = decodeFields(f);
            // Authentication errors name the service account: never relay them.
            const sqlstate = fields.get('C') ?? '';
            return fail(
              sqlstate.startsWith('28')
                ? unavailable('service account authentication failed')
                : unavailable(fields.get('M') ?? 'startup failed'),
            );
          } else if (code === BackendCode.ReadyForQuery) {
            socket.off('data', onData);
            socket.off('error', onError);
            socket.off('close', onError);
            return resolve({ socket, parameters: statuses, ...key, leftover: reader.rest() });
          }
        }
      } catch (error) {
        fail(error instanceof PgError ? error : unavailable('invalid upstream message'));
      }
    };
    const onError = (): void => fail(unavailable('connection lost during startup'));
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('close', onError);
    socket.write(write.startupMessage(new Map([...parameters, ['user', target.user], ['database', target.database]])));
  });
}

function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5')
    .update(password + user)
    .digest('hex');
  return (
    'md5' +
    createHash('md5')
      .update(Buffer.concat([Buffer.from(inner), salt]))
      .digest('hex')
  );
}

async function withTimeout<T>(promise: Promise<T>, ms: number, why: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(unavailable(why)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Cancels the upstream query of one session: a fresh connection carrying upstream's own key. */
/**
 * Resolves once the server has closed the cancel connection: by then it has signalled the backend,
 * so a statement sent afterwards cannot be hit by this cancel.
 */
export function sendUpstreamCancel(target: UpstreamTarget, processId: number, secretKey: number): Promise<void> {
  return new Promise((resolve) => {
    const s = netConnect({ host: target.host, port: target.port });
    s.once('connect', () => s.end(write.cancelRequest(processId, secretKey)));
    s.once('error', () => s.destroy());
    s.once('close', () => resolve());
    s.setTimeout(5000, () => s.destroy());
  });
}
