/**
 * `npm run bench:rewrite`: only the in-process rewrite latency of `npm run bench` (every corpus
 * statement, cold, cached and from its literal template, as ratios to the bare parse in the same
 * run), on a database of its own. Prints the section `npm run bench` writes to bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { demoSchemaSql } from '../cli/demo/demo-data';
import { TPCH_SQL } from '../test/support/tpch';
import { latencySection, measureRewriteLatency } from './rewrite-latency';

const PG = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const DB = `pgveil_bench_rewrite_${process.pid}`;
const CORPUS = process.env.PGVEIL_CORPUS ?? join(__dirname, '..', '..', 'test', 'fixtures', 'corpus');

async function main(): Promise<void> {
  const admin = new Client({ ...PG, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${DB}`);
  try {
    // Scale 1: the rewrite reads only the catalog, never the rows.
    execFileSync('pgbench', ['-i', '-q', '-s', '1', '-h', PG.host, '-p', String(PG.port), '-U', PG.user, DB], {
      stdio: 'ignore',
    });
    const db = new Client({ ...PG, database: DB });
    await db.connect();
    try {
      await db.query(demoSchemaSql);
      await db.query(TPCH_SQL);
      const result = await measureRewriteLatency(db, CORPUS);
      process.stdout.write(`${latencySection(result).join('\n')}\n`);
    } finally {
      await db.end();
    }
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
