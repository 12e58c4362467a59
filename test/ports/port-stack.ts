/**
 * The demo data product behind a real pgveil with an external port `demo_external` and partners:
 * `partner` (region EU, no clearance: masks and the region row filter apply) and `partner_pii`
 * (region "*", clearance pii: neither applies), to tell what the policy does on the port.
 */
import { Client } from 'pg';
import Redis from 'ioredis';
import { createScramVerifier } from '../../proxy';
import { startStack, type Stack } from '../support/pgveil-stack';
import { deletePrefix, REDIS_URL, testKeyPrefix } from '../support/redis';

export interface PortStack {
  readonly stack: Stack;
  readonly redis: Redis;
  readonly prefix: string;
  connect(
    user: 'partner' | 'partner_pii' | 'analyst',
    database?: string,
    options?: { binary?: boolean },
  ): Promise<Client>;
  stop(): Promise<void>;
}

export interface PortOptions {
  readonly epsilonPerAnswer: number;
  readonly budget: number;
  readonly extraSql?: string;
}

function portYaml(o: PortOptions): string {
  return `    ports:
      - name: demo_external
        kind: external
        subscribers: { groups: [partners] }
        epsilonPerAnswer: ${o.epsilonPerAnswer}
        budget: { epsilon: ${o.budget}, period: day }
        relations:
          public.customers:
            privacyUnit: id
            maxRowsPerUnit: 1
            dimensions:
              region: [EU, US, APAC]
              email: [canary-4f1d@example.com, c**********@example.com]
          public.orders:
            privacyUnit: customer_id
            maxRowsPerUnit: 3
            dimensions:
              status: [placed, shipped, delivered, returned]
            measures:
              amount: { lower: 0, upper: 1000, decimals: 2 }
      - name: demo_reporting
        kind: internal
        subscribers: { users: [partner] }
`;
}

export async function startPortStack(name: string, options: PortOptions): Promise<PortStack> {
  const prefix = testKeyPrefix(name);
  const partners = `users:
  - name: partner
    password: "${createScramVerifier('partner')}"
    groups: [partners]
    attributes: { region: EU }
  - name: partner_pii
    password: "${createScramVerifier('partner_pii')}"
    groups: [partners]
    attributes: { region: "*", clearance: pii }
`;
  const stack = await startStack(name, {
    redisPrefix: prefix,
    ...(options.extraSql ? { extraSql: options.extraSql } : {}),
    policyYaml: (demo) =>
      demo
        .replace('          name: [pii.name]\n', `          name: [pii.name]\n${portYaml(options)}`)
        .replace('users:\n', partners),
  });
  const redis = new Redis(REDIS_URL);
  return {
    stack,
    redis,
    prefix,
    async connect(user, database = 'demo_external', connectOptions) {
      const client = new Client({
        host: '127.0.0.1',
        port: stack.port,
        user,
        password: user,
        database,
        ...(connectOptions?.binary ? { binary: true } : {}),
      });
      await client.connect();
      return client;
    },
    async stop() {
      await stack.stop();
      await deletePrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
