/**
 * The whole of pgveil's own work per statement in process, without sockets: client bytes through
 * the frontend decoder, the statement pipeline and the gate (rewrite served from its cache), the
 * audit record, and upstream's answer through the backend relay, as pgbench -S sends and receives
 * them in each protocol mode. What the proxy's CPU per statement holds above this and above the
 * Node.js relay's is the runtime around it (one more socket per session, timers, the event loop).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'pg-protocol';
import { Client as PgClient, type Client } from 'pg';
import { FrontendDecoder } from '../proxy/protocol/frontend-decoder';
import { StatementPipeline } from '../proxy/session/statement-pipeline';
import { BackendRelay } from '../proxy/session/backend-relay';
import { backendFrames } from '../test/support/pipeline-script';
import { benchWiring } from './bench-wiring';
import type * as RunAllModule from './run-all';

type RunAll = typeof RunAllModule;

export type Mode = 'simple' | 'extended' | 'prepared';

const pointQuery = (aid: number | string): string => `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`;

/** Mean microseconds of CPU per statement of pgveil's own work in each mode. */
export async function measureSessionPath(db: Client, n = 30_000): Promise<Record<Mode, number>> {
  const wiring = await benchWiring(db);
  const { gate, session: info } = wiring;
  const observer = wiring.observer();
  const session = (): { send(bytes: Buffer): void; answer(bytes: Buffer): void } => {
    const decoder = new FrontendDecoder(1 << 20);
    decoder.endStartupPhase();
    const pipeline = new StatementPipeline(info, {
      gate,
      readyForStatements: () => observer.readyForStatements(),
      statementFinished: (record) => observer.statementFinished(record),
      refusalToken: 'bench',
      user: 'analyst',
      cancelUpstream: () => undefined,
      sendUpstream: () => undefined,
      terminate: () => undefined,
    });
    const relay = new BackendRelay(pipeline, StatementPipeline.inspectedCodes);
    return {
      send(bytes) {
        decoder.push(bytes);
        for (let m = decoder.next(); m; m = decoder.next()) {
          if (pipeline.request(m) instanceof Promise) throw new Error('the bench gate must answer at once');
        }
        pipeline.takeUpstream();
      },
      answer(bytes) {
        relay.relay(bytes);
      },
    };
  };
  const rows = backendFrames(['D', 'C SELECT 1', 'Z I'], '');
  const flows: Record<
    Mode,
    { setup?: (s: ReturnType<typeof session>) => void; request: (i: number) => Buffer; answer: Buffer }
  > = {
    simple: {
      request: (i) => serialize.query(pointQuery(1 + ((i * 7919) % 1_000_000))),
      answer: Buffer.concat([backendFrames(['T'], ''), rows]),
    },
    extended: {
      request: (i) =>
        Buffer.concat([
          serialize.parse({ text: pointQuery('$1') }),
          serialize.bind({ values: [String(1 + (i % 1_000_000))] }),
          serialize.describe({ type: 'P' }),
          serialize.execute({}),
          serialize.sync(),
        ]),
      answer: Buffer.concat([backendFrames(['1', '2', 'T'], ''), rows]),
    },
    prepared: {
      setup: (s) => {
        s.send(Buffer.concat([serialize.parse({ name: 'P0_1', text: pointQuery('$1') }), serialize.sync()]));
        s.answer(backendFrames(['1', 'Z I'], ''));
      },
      request: (i) =>
        Buffer.concat([
          serialize.bind({ statement: 'P0_1', values: [String(1 + (i % 1_000_000))] }),
          serialize.execute({}),
          serialize.sync(),
        ]),
      answer: Buffer.concat([backendFrames(['2'], ''), rows]),
    },
  };
  try {
    const result = {} as Record<Mode, number>;
    for (const [mode, flow] of Object.entries(flows) as Array<[Mode, (typeof flows)[Mode]]>) {
      const s = session();
      flow.setup?.(s);
      const requests = Array.from({ length: n }, (_, i) => flow.request(i));
      const once = (i: number): void => {
        s.send(requests[i]!);
        s.answer(flow.answer);
      };
      for (let i = 0; i < n; i++) once(i); // warm-up: caches, the JIT
      // CPU time, not wall time: what the process spends, whatever else the machine runs.
      const before = process.cpuUsage();
      for (let i = 0; i < n; i++) once(i);
      const spent = process.cpuUsage(before);
      result[mode] = (spent.user + spent.system) / n;
    }
    return result;
  } finally {
    wiring.close();
  }
}

if (require.main === module) {
  void (async () => {
    // Loaded here only: run-all imports this file for its table.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { setUp, DB } = require('./run-all') as RunAll;
    const dir = mkdtempSync(join(tmpdir(), 'pgveil-session-path-db-'));
    await setUp(dir);
    const db = new PgClient({ host: '127.0.0.1', port: 5432, user: 'postgres', database: DB });
    await db.connect();
    const costs = await measureSessionPath(db);
    process.stdout.write(`pgveil's own work per statement, in process (µs): ${JSON.stringify(costs)}\n`);
    await db.end();
    rmSync(dir, { recursive: true, force: true });
  })();
}
