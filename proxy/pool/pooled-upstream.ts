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
import { CAPTURE_SQL, PooledSettings, sameSettings, settingsPreamble, type SettingValues } from './pooled-settings';
import { runSimpleQuery } from './simple-query';

const CAPTURE_TIMEOUT_MS = 10_000;

export class PooledUpstream {
  private capturing: Promise<void> | undefined;

  constructor(
    readonly pool: UpstreamPool,
    private readonly settings: PooledSettings,
    /** Parameters the client was told in its greeting (names as PostgreSQL reports them). */
    private readonly reported: ReadonlyMap<string, string>,
  ) {}

  /**
   * A connection for the client's next messages, and the statements (if any) that must run on it
   * first to give it the client's settings.
   */
  async borrow(): Promise<{ connection: PooledConnection; preamble: string | undefined }> {
    if (this.capturing) await this.capturing;
    const wanted = this.settings.current;
    const connection = await this.pool.borrow((c) => sameSettings(c.applied, wanted));
    return { connection, preamble: settingsPreamble(connection.applied, wanted) };
  }

  /** The preamble ran: the connection holds the client's settings. */
  applied(connection: PooledConnection, values: SettingValues): void {
    connection.applied = values;
  }

  get wanted(): SettingValues {
    return this.settings.current;
  }

  /**
   * Upstream is idle and the client has nothing in flight. `settingsChanged`: a statement since the
   * borrow may have changed a setting; `tell` sends the client a ParameterStatus it must now see.
   */
  release(
    connection: PooledConnection,
    settingsChanged: boolean,
    client: { tell(frame: Buffer): void; lost(): void },
  ): void {
    if (!settingsChanged) return this.pool.release(connection);
    // Without them the client's next transaction would run with settings nobody knows: it ends.
    const lost = (): void => {
      this.capturing = undefined;
      this.pool.discard(connection);
      client.lost();
    };
    this.capturing = runSimpleQuery(connection.upstream.socket, CAPTURE_SQL, CAPTURE_TIMEOUT_MS).then((answer) => {
      if (answer.error) return lost();
      this.capturing = undefined;
      const restored = this.settings.captured(answer.rows);
      connection.applied = new Map(answer.rows.map(([name, value]) => [name ?? '', value ?? '']));
      this.pool.release(connection);
      // A RESET went to the server's default upstream; for the client it went back to its own.
      for (const name of restored) {
        const shown = [...this.reported.keys()].find((n) => n.toLowerCase() === name);
        const value = this.settings.current.get(name);
        if (shown && value !== undefined) client.tell(write.parameterStatus(shown, value));
      }
    }, lost);
  }

  discard(connection: PooledConnection): void {
    this.pool.discard(connection);
  }
}

/**
 * A pooled session begins: its startup settings are applied once on a connection of the pool, so
 * that PostgreSQL judges them (an invalid one is FATAL, as at startup) and reports the values the
 * client's greeting must carry.
 */
export async function adoptSession(
  pool: UpstreamPool,
  startupSettings: ReadonlyMap<string, string>,
): Promise<{ pooled: PooledUpstream; parameters: Array<readonly [string, string]> }> {
  const settings = new PooledSettings(
    new Map([...startupSettings].map(([name, value]) => [name.toLowerCase(), value])),
  );
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
  return { pooled: new PooledUpstream(pool, settings, parameters), parameters: [...parameters] };
}
