/**
 * Generators shared by the fuzz tests. PGVEIL_FUZZ_SCALE multiplies every run count: CI uses 1;
 * `npm run fuzz:nightly` uses 20 (two million protocol messages), with a seed from the date.
 */
import fc from 'fast-check';
import { FrontendCode } from '../../proxy/protocol/message-codes';
import * as write from '../../proxy/protocol/message-writer';

export const FUZZ_SCALE = Number(process.env.PGVEIL_FUZZ_SCALE ?? 1);

const CODES = [...Object.values(FrontendCode), 0x00, 0x7f, 0xff, 0x41];
const VALID: Buffer[] = [
  write.query("SELECT name, email FROM customers WHERE region = 'US'"),
  write.parse('s', 'SELECT ssn FROM customers WHERE id = $1', Buffer.from([0, 1, 0, 0, 0, 23])),
  write.frame(0x42, Buffer.from('\0s\0\0\0\0\x01\0\0\0\x013\0\0')),
  write.frame(0x44, Buffer.from('P\0')),
  write.frame(0x45, Buffer.from('\0\0\0\0\0')),
  write.frame(0x53, Buffer.alloc(0)),
  write.frame(0x48, Buffer.alloc(0)),
];

/** A message: random type and body, or a valid one with bytes flipped, cut or appended. */
export const messageArb = fc.oneof(
  fc
    .tuple(fc.constantFrom(...CODES), fc.uint8Array({ maxLength: 40 }))
    .map(([code, body]) => write.frame(code, Buffer.from(body))),
  fc.tuple(fc.constantFrom(...VALID), fc.nat(200), fc.integer({ min: 0, max: 255 })).map(([m, at, byte]) => {
    const copy = Buffer.from(m);
    if (copy.length > 5) copy[5 + (at % (copy.length - 5))] = byte;
    return copy;
  }),
  fc.tuple(fc.constantFrom(...VALID), fc.uint8Array({ maxLength: 8 })).map(([m, extra]) => {
    const body = Buffer.concat([m.subarray(5), Buffer.from(extra)]);
    return write.frame(m[0]!, body);
  }),
);
