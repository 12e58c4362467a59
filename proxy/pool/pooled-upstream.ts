/**
 * One client session's side of a pool: it borrows a connection when the client has something to
 * send, brings the connection's settings to the client's first (in the same write as the client's
 * messages, so it costs no round trip), and gives it back once upstream is idle. After a
 * transaction that may have changed settings, it reads back what upstream holds before anyone
 * else may borrow the connection, and the client's next borrow waits for that.
 */
import * as write from '../protocol/message-writer';
import { PgError } from '../pg-error';
import type { PooledConnection, UpstreamPool } from './upstream-pool';
import { CAPTURE_SQL, PooledSettings, sameSettings, settingsPreamble } from './pooled-settings';
import { runSimpleQuery } from './simple-query';

const CAPTURE_TIMEOUT_MS = 10_000;

/** What of the session's statement pipeline lending needs (StatementPipeline). */
export interface LendingPipeline {
  /** The connection lent now (undefined: given back); returns whether a statement may have changed settings. */
  lend(connection: PooledConnection | undefined): boolean;
  hiddenQuery(sql: string, done: (ok: boolean) => void): void;
  readonly quiet: boolean;
  readonly synced: boolean;
  readonly outsideTransaction: boolean;
  readonly pinned: string | undefined;
}

/** What the client must hear of its connection's return. */
export interface ReturningClient {
  /** A ParameterStatus it must now see. */
  tell(frame: Buffer): void;
  /** Its settings could not be read back: the session must end. */
  lost(): void;
}

export class PooledUpstream {
  private capturing: Promise<void> | undefined;

  constructor(
    /** The data product's pool now: a reload that changes its upstream or pool settings starts another. */
    private readonly currentPool: () => UpstreamPool,
    private readonly settings: PooledSettings,
    /** Parameters the client was told in its greeting (names as PostgreSQL reports them). */
    private readonly reported: ReadonlyMap<string, string>,
  ) {}

  /**
   * A connection for the client's next messages, lent to its pipeline with the statements that
   * give it the client's settings queued first. `failed`: the connection could not take them.
   */
  async lend(pipeline: LendingPipeline, failed: (error: PgError) => void): Promise<PooledConnection> {
    if (this.capturing) await this.capturing;
    const wanted = this.settings.current;
    const connection = await this.currentPool().borrow((c) => sameSettings(c.applied, wanted));
    pipeline.lend(connection);
    const preamble = settingsPreamble(connection.applied, wanted);
    if (preamble)
      pipeline.hiddenQuery(preamble, (ok) => {
        if (ok) connection.applied = wanted;
        // Without its settings the client's statements must not run there.
        else
          failed(
            new PgError('08006', "could not give the pooled upstream connection this session's settings", 'FATAL'),
          );
      });
    return connection;
  }

  /** True when the connection may go back: upstream idle outside a transaction, nothing in flight or pinning it. */
  static mayGoBack(pipeline: LendingPipeline): boolean {
    return pipeline.quiet && pipeline.synced && pipeline.outsideTransaction && pipeline.pinned === undefined;
  }

  /** Gives the connection back, reading the client's settings back first when they may have changed. */
  giveBack(connection: PooledConnection, pipeline: LendingPipeline, client: ReturningClient): void {
    this.release(connection, pipeline.lend(undefined), client);
  }

  /** The session ends: a connection in a clean state goes back, any other is closed. */
  end(connection: PooledConnection, pipeline: LendingPipeline, busy: boolean): void {
    const ignore = (): void => undefined;
    if (!busy && PooledUpstream.mayGoBack(pipeline))
      this.giveBack(connection, pipeline, { tell: ignore, lost: ignore });
    else connection.pool.discard(connection);
  }

  /**
   * Upstream is idle and the client has nothing in flight. `settingsChanged`: a statement since the
   * borrow may have changed a setting; `tell` sends the client a ParameterStatus it must now see.
   */
  private release(connection: PooledConnection, settingsChanged: boolean, client: ReturningClient): void {
    // A connection goes back to the pool it came from (retired by a reload, it closes there).
    if (!settingsChanged) return connection.pool.release(connection);
    // Without them the client's next transaction would run with settings nobody knows: it ends.
    const lost = (): void => {
      this.capturing = undefined;
      connection.pool.discard(connection);
      client.lost();
    };
    this.capturing = runSimpleQuery(connection.upstream.socket, CAPTURE_SQL, CAPTURE_TIMEOUT_MS).then((answer) => {
      if (answer.error) return lost();
      this.capturing = undefined;
      const restored = this.settings.captured(answer.rows);
      connection.applied = new Map(answer.rows.map(([name, value]) => [name ?? '', value ?? '']));
      connection.pool.release(connection);
      // A RESET went to the server's default upstream; for the client it went back to its own.
      for (const name of restored) {
        const shown = [...this.reported.keys()].find((n) => n.toLowerCase() === name);
        const value = this.settings.current.get(name);
        if (shown && value !== undefined) client.tell(write.parameterStatus(shown, value));
      }
    }, lost);
  }
}

/**
 * A pooled session begins: its startup settings are applied once on a connection of the pool, so
 * that PostgreSQL judges them (an invalid one is FATAL, as at startup) and reports the values the
 * client's greeting must carry.
 */
export async function adoptSession(
  currentPool: () => UpstreamPool,
  startupSettings: ReadonlyMap<string, string>,
): Promise<{ pooled: PooledUpstream; parameters: Array<readonly [string, string]> }> {
  const settings = new PooledSettings(
    new Map([...startupSettings].map(([name, value]) => [name.toLowerCase(), value])),
  );
  const pool = currentPool();
  const connection = await pool.borrow((c) => sameSettings(c.applied, settings.current));
  const parameters = new Map(connection.upstream.parameters);
  const preamble = settingsPreamble(connection.applied, settings.current);
  if (preamble) {
    let answer;
    try {
      answer = await runSimpleQuery(connection.upstream.socket, preamble, CAPTURE_TIMEOUT_MS);
    } catch {
      pool.discard(connection);
      throw new PgError('08006', 'connection to the data product upstream was lost', 'FATAL');
    }
    if (answer.error) {
      pool.release(connection);
      throw new PgError(answer.error.sqlstate, answer.error.message, 'FATAL');
    }
    connection.applied = settings.current;
    for (const [name, value] of answer.statuses) parameters.set(name, value);
  }
  pool.release(connection);
  return { pooled: new PooledUpstream(currentPool, settings, parameters), parameters: [...parameters] };
}
