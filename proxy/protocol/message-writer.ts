/** Builds protocol frames: the backend messages pgveil sends to clients and the few frontend
 * messages it originates upstream (startup, authentication, Query and Parse with rewritten SQL). */
import { AuthCode, BackendCode, FrontendCode, StartupCode } from './message-codes';

export function frame(code: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeUInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const cstring = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const int32 = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
};

// ---- to the client

export const authenticationOk = (): Buffer => frame(BackendCode.Authentication, int32(AuthCode.Ok));
export const authenticationCleartext = (): Buffer =>
  frame(BackendCode.Authentication, int32(AuthCode.CleartextPassword));
export const authenticationSasl = (mechanisms: readonly string[]): Buffer =>
  frame(
    BackendCode.Authentication,
    Buffer.concat([int32(AuthCode.SASL), ...mechanisms.map(cstring), Buffer.from([0])]),
  );
export const authenticationSaslContinue = (data: string): Buffer =>
  frame(BackendCode.Authentication, Buffer.concat([int32(AuthCode.SASLContinue), Buffer.from(data, 'utf8')]));
export const authenticationSaslFinal = (data: string): Buffer =>
  frame(BackendCode.Authentication, Buffer.concat([int32(AuthCode.SASLFinal), Buffer.from(data, 'utf8')]));
export const parameterStatus = (name: string, value: string): Buffer =>
  frame(BackendCode.ParameterStatus, Buffer.concat([cstring(name), cstring(value)]));
export const backendKeyData = (processId: number, secretKey: number): Buffer =>
  frame(BackendCode.BackendKeyData, Buffer.concat([int32(processId), int32(secretKey)]));
export const readyForQuery = (status: number): Buffer => frame(BackendCode.ReadyForQuery, Buffer.from([status]));

// ---- upstream

export function startupMessage(parameters: ReadonlyMap<string, string>): Buffer {
  const body = Buffer.concat([
    int32(StartupCode.ProtocolV3),
    ...[...parameters].flatMap(([k, v]) => [cstring(k), cstring(v)]),
    Buffer.from([0]),
  ]);
  return Buffer.concat([int32(body.length + 4), body]);
}

export const sslRequest = (): Buffer => Buffer.concat([int32(8), int32(StartupCode.SSLRequest)]);
export const cancelRequest = (processId: number, secretKey: number): Buffer =>
  Buffer.concat([int32(16), int32(StartupCode.CancelRequest), int32(processId), int32(secretKey)]);
export const passwordMessage = (password: string): Buffer => frame(FrontendCode.Password, cstring(password));
export const saslInitialResponse = (mechanism: string, data: string): Buffer => {
  const payload = Buffer.from(data, 'utf8');
  return frame(FrontendCode.Password, Buffer.concat([cstring(mechanism), int32(payload.length), payload]));
};
export const saslResponse = (data: string): Buffer => frame(FrontendCode.Password, Buffer.from(data, 'utf8'));
export const query = (sql: string): Buffer => frame(FrontendCode.Query, cstring(sql));
export const parse = (name: string, sql: string, parameterTypes: Buffer): Buffer =>
  frame(FrontendCode.Parse, Buffer.concat([cstring(name), cstring(sql), parameterTypes]));
export const close = (target: 'S' | 'P', name: string): Buffer =>
  frame(FrontendCode.Close, Buffer.concat([Buffer.from(target), cstring(name)]));
export const describe = (target: 'S' | 'P', name: string): Buffer =>
  frame(FrontendCode.Describe, Buffer.concat([Buffer.from(target), cstring(name)]));
/** The client's Bind with another statement name: its parameters and formats unchanged. */
export function bindRenamed(original: Buffer, portal: string, statement: string): Buffer {
  // The body after the two names starts where the original's statement name ends.
  const portalEnd = original.indexOf(0, 5);
  const statementEnd = original.indexOf(0, portalEnd + 1);
  return frame(
    FrontendCode.Bind,
    Buffer.concat([cstring(portal), cstring(statement), original.subarray(statementEnd + 1)]),
  );
}
/** Bind with no parameters and no result formats. */
export const bind = (portal: string, statement: string): Buffer =>
  frame(FrontendCode.Bind, Buffer.concat([cstring(portal), cstring(statement), Buffer.alloc(6)]));
export const execute = (portal: string, maxRows: number): Buffer =>
  frame(FrontendCode.Execute, Buffer.concat([cstring(portal), int32(maxRows)]));
export const sync = (): Buffer => frame(FrontendCode.Sync, Buffer.alloc(0));
export const terminate = (): Buffer => frame(FrontendCode.Terminate, Buffer.alloc(0));
export const copyFail = (message: string): Buffer => frame(FrontendCode.CopyFail, cstring(message));
