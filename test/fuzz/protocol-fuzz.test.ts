/**
 * Random and mutated frontend messages. In-process: the decoder and the message readers see
 * 100,000+ messages and may only answer with a PgError. Over the wire: hundreds of sessions send
 * mutated sequences to a full pgveil; it must keep serving a bystander and new sessions.
 */
import fc from 'fast-check';
import { messageArb, FUZZ_SCALE } from './arbitraries';
import {
  FrontendDecoder,
  readBindNames,
  readExecutePortal,
  readParse,
  readQuery,
} from '../../proxy/protocol/frontend-decoder';
import { FrontendCode } from '../../proxy/protocol/message-codes';
import * as write from '../../proxy/protocol/message-writer';
import { PgError } from '../../proxy/pg-error';
import { startStack, type Stack } from '../support/pgveil-stack';
import { RawClient } from '../support/raw-client';
import { CANARY_SQL, leakedCanaries } from '../adversarial/canaries';

test('the decoder and message readers answer 100,000 random messages with messages or PgErrors only', () => {
  let fed = 0;
  let decoded = 0;
  fc.assert(
    fc.property(fc.array(messageArb, { minLength: 50, maxLength: 50 }), fc.nat(7), (batch, cut) => {
      const decoder = new FrontendDecoder(1 << 16);
      decoder.endStartupPhase();
      const stream = Buffer.concat(batch);
      fed += batch.length;
      // Deliver in uneven chunks, as TCP would.
      for (let i = 0; i < stream.length; i += 1 + cut * 13) decoder.push(stream.subarray(i, i + 1 + cut * 13));
      const onlyPgErrors = (fn: () => void): boolean => {
        try {
          fn();
          return true;
        } catch (error) {
          if (!(error instanceof PgError)) throw error;
          return false;
        }
      };
      // A framing error ends the stream (as it ends the session); a bad body only that message.
      onlyPgErrors(() => {
        for (let m = decoder.next(); m; m = decoder.next()) {
          decoded++;
          const message = m;
          onlyPgErrors(() => {
            if (message.code === FrontendCode.Query) readQuery(message);
            else if (message.code === FrontendCode.Parse) readParse(message);
            else if (message.code === FrontendCode.Bind) readBindNames(message);
            else if (message.code === FrontendCode.Execute) readExecutePortal(message);
          });
        }
      });
    }),
    { numRuns: FUZZ_SCALE * 2100, seed: Number(process.env.PGVEIL_FUZZ_SEED ?? 20261122) },
  );
  expect(fed).toBeGreaterThanOrEqual(FUZZ_SCALE * 100_000);
  expect(decoded).toBeGreaterThan(10_000);
});

describe('over the wire, against a full pgveil', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('fuzz', { extraSql: CANARY_SQL });
  });
  afterAll(() => stack.stop());

  test(
    'mutated sequences never crash pgveil, never disturb a bystander, and never leak a canary',
    async () => {
      const bystander = await stack.connect('analyst');
      const sequences = fc.sample(fc.array(messageArb, { minLength: 5, maxLength: 30 }), {
        numRuns: FUZZ_SCALE * 120,
        seed: Number(process.env.PGVEIL_FUZZ_SEED ?? 7),
      });
      let sent = 0;
      for (let i = 0; i < sequences.length; i += 6) {
        await Promise.all(
          sequences.slice(i, i + 6).map(async (sequence) => {
            const c = await RawClient.session(stack.port, 'demo');
            try {
              c.send(Buffer.concat([...sequence, write.frame(0x53, Buffer.alloc(0))]));
              sent += sequence.length;
              const seen: string[] = [];
              // Read until the server is done with us: closed, or quiet after a ReadyForQuery.
              for (;;) {
                const f = await c.next(2000).catch(() => undefined);
                if (!f) break;
                seen.push(f.body.toString('latin1'));
              }
              expect(leakedCanaries(seen.join(''))).toEqual([]);
            } finally {
              c.close();
            }
          }),
        );
        expect((await bystander.query('SELECT count(*)::int AS n FROM customers')).rows).toEqual([{ n: 333 }]);
      }
      expect(sent).toBeGreaterThan(1000);
      const fresh = await stack.connect('analyst');
      expect((await fresh.query('SELECT 1 AS alive')).rows).toEqual([{ alive: 1 }]);
      await fresh.end();
      await bystander.end();
    },
    FUZZ_SCALE * 120_000,
  );
});
