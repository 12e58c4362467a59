/**
 * The statement gate's view of output ports. A client whose database name is a declared port gets
 * the port's data product, the port's own subscribers and, on an external port, only
 * differentially private aggregates:
 *
 *   1. the statement must be one aggregate the port accepts (aggregate-query.ts), or a setting,
 *      transaction control, or `SHOW pgveil.budget`; anything else is refused, saying what is;
 *   2. it becomes the bounding, clamping SQL of dp-sql.ts, which the normal rewrite then rewrites
 *      under the port's policy (masks and row filters stay in force: DP on top, never instead);
 *   3. the answer's epsilon is spent in Redis, atomically, before anything is released (refused
 *      with 53400 and what is left when the budget would run out), unless this very statement's
 *      answer was released before in this period: that answer is served again, free;
 *   4. the plan carries the result transform that adds the noise (noisy-answer.ts).
 */
import type Redis from 'ioredis';
import type { PolicySnapshot } from '../policies';
import type { DataProductConfig } from '../policies';
import { refusal, type RewriteContext, type RewriteOutcome, type RewritePlan } from '../rewriter';
import { rewrite as rewriteStatement } from '../rewriter';
import { bodyOf, kindOf, parseTree } from '../rewriter';
import type { OutputPortConfig } from './port-model';
import { isSubscriber, portDirectory, type PortRoute } from './port-directory';
import { acceptedForms, PortRefusal, readAggregateQuery } from './aggregate-query';
import { aggregateSql, groupCount } from './dp-sql';
import { answerColumns } from './noisy-columns';
import { noisyAnswer } from './noisy-answer';
import { decimalToRational, microsText, toMicros } from './rational';
import { periodWindow } from './budget-period';
import type { BudgetAccount } from './privacy-budget';
import { answerKey } from './answer-cache';
import { dryRunBudgetStore, memoryBudgetStore, redisBudgetStore, type BudgetStore } from './budget-store';
import { CryptoRandom, type RandomSource } from './random-source';

export interface OutputPortsOptions {
  readonly dataProducts: () => ReadonlyMap<string, DataProductConfig>;
  /** Where budgets and released answers are kept, shared by replicas; without it, this process's memory. */
  readonly redis: Redis | undefined;
  readonly keyPrefix: string;
  readonly now?: () => Date;
  readonly random?: RandomSource;
  /** Told when a budget refuses an answer (a security event); never on a dry run. */
  readonly onBudgetExhausted?: (detail: { port: string; user: string; message: string }) => void;
  /**
   * `pgveil explain`: plan every statement as the server would, reading budgets and released
   * answers, but spend nothing and release nothing. A plan's `privacy` then says what the answer
   * would spend and what would be left after it; a budget that would run out refuses as on the
   * server (`dryRunSummary` words it for people).
   */
  readonly dryRun?: boolean;
}

export interface OutputPorts {
  /** The port a client's database name names, if it is one. */
  find(database: string): PortRoute | undefined;
  /** The plan of one SQL text on a port; `context` is the data product's (its name, catalog, policies). */
  plan(sql: string, route: PortRoute, context: RewriteContext): RewriteOutcome | Promise<RewriteOutcome>;
}

/** Statements that read no data and pass on any port as the normal rewrite decides them. */
const PLAIN = new Set(['VariableSetStmt', 'VariableShowStmt', 'TransactionStmt', 'DiscardStmt']);

/** Most groups one answer may have: every group costs a row of noise and the cache a field. */
const MAX_GROUPS = 10_000;

export function createOutputPorts(options: OutputPortsOptions): OutputPorts {
  const random = options.random ?? new CryptoRandom();
  const now = options.now ?? (() => new Date());
  const kept: BudgetStore = options.redis ? redisBudgetStore(options.redis) : memoryBudgetStore(now);
  const store = options.dryRun ? dryRunBudgetStore(kept) : kept;
  return {
    find: (database) => portDirectory(options.dataProducts()).get(database),
    plan(sql, route, productContext) {
      const { port } = route;
      const context: RewriteContext = {
        ...productContext,
        policies: withPortSubscribers(productContext.policies, port),
      };
      const version = context.policies.version;
      if (!isSubscriber(port, context.principal.user, context.principal.groups)) {
        return refusal(
          '42501',
          `user "${context.principal.user}" is not a subscriber of port "${port.name}" of data product "${route.product.name}"`,
          ['not_subscribed'],
          version,
        );
      }
      if (port.kind === 'internal') return rewriteStatement(sql, context);
      let statements;
      try {
        statements = parseTree(sql);
      } catch {
        return rewriteStatement(sql, context); // the rewriter reports the syntax error with its position
      }
      if (statements.length !== 1)
        return refusal('0A000', `one statement at a time on ${acceptedForms(port)}`, ['dp_one_statement'], version);
      const stmt = statements[0]!.stmt;
      const kind = kindOf(stmt);
      if (
        kind === 'VariableShowStmt' &&
        String(bodyOf(stmt, 'VariableShowStmt')!.name).toLowerCase() === 'pgveil.budget'
      )
        return budgetPlan(port, context);
      if (PLAIN.has(kind)) return rewriteStatement(sql, context);
      if (kind !== 'SelectStmt')
        return refusal(
          '42501',
          `${kind.replace(/Stmt$/, '').toUpperCase()} is not allowed on ${acceptedForms(port)}`,
          ['dp_not_aggregate'],
          version,
        );
      try {
        const query = readAggregateQuery(bodyOf(stmt, 'SelectStmt')!, port);
        const groups = groupCount(query);
        if (groups > MAX_GROUPS)
          return refusal(
            '54000',
            `the answer would have ${groups} groups, more than ${MAX_GROUPS}: group by fewer dimensions`,
            ['dp_too_many_groups'],
            version,
          );
        const planned = rewriteStatement(aggregateSql(query), context);
        if (planned.kind !== 'plan') return planned;
        return release(port, context, planned, answerColumns(query, decimalToRational(port.epsilonPerAnswer!)), groups);
      } catch (error) {
        if (error instanceof PortRefusal) return refusal(error.sqlstate, error.message, [error.rule], version);
        return refusal(
          'XX000',
          `statement refused: pgveil could not plan it for external port "${port.name}" (${(error as Error).message})`,
          ['internal_error'],
          version,
        );
      }
    },
  };

  function accountOf(port: OutputPortConfig, context: RewriteContext): BudgetAccount {
    return {
      keyPrefix: options.keyPrefix,
      port: port.name,
      user: context.principal.user,
      window: periodWindow(port.budget!.period, now()),
      limitMicros: toMicros(decimalToRational(port.budget!.epsilon)),
    };
  }

  async function release(
    port: OutputPortConfig,
    context: RewriteContext,
    planned: RewritePlan,
    columns: ReturnType<typeof answerColumns>,
    groups: number,
  ): Promise<RewriteOutcome> {
    const version = context.policies.version;
    const account = accountOf(port, context);
    const key = answerKey(account, planned.sql);
    const cost = toMicros(decimalToRational(port.epsilonPerAnswer!));
    try {
      const cached = await store.cachedAnswer(key, groups);
      if (cached) {
        const remaining = account.limitMicros - (await store.spent(account));
        return withNoise(
          planned,
          { port: port.name, epsilon: '0', delta: '0', remaining: microsText(remaining), cached: true },
          columns,
          cached,
        );
      }
      const spend = await store.spend(account, cost);
      if (!spend.spent) {
        const message = `privacy budget of user "${account.user}" on external port "${port.name}" is exhausted: this answer needs epsilon ${microsText(cost)}, ${microsText(spend.remainingMicros)} of ${microsText(account.limitMicros)} is left until ${account.window.end.toISOString()}`;
        if (!options.dryRun) options.onBudgetExhausted?.({ port: port.name, user: account.user, message });
        return refusal('53400', message, ['dp_budget_exhausted'], version);
      }
      const privacy = {
        port: port.name,
        epsilon: microsText(cost),
        delta: '0',
        remaining: microsText(spend.remainingMicros),
        cached: false,
      };
      return withNoise(planned, privacy, columns, undefined, (group, values) =>
        store.storeRow(key, group, values, account.window.end),
      );
    } catch (error) {
      return refusal(
        '58000',
        `the privacy budget of external port "${port.name}" cannot be read (${(error as Error).message}): statement refused`,
        ['dp_budget_unavailable'],
        version,
      );
    }
  }

  function withNoise(
    planned: RewritePlan,
    privacy: NonNullable<RewritePlan['privacy']>,
    columns: ReturnType<typeof answerColumns>,
    released: ReadonlyMap<number, (string | null)[]> | undefined,
    onRelease?: (group: number, values: readonly (string | null)[]) => void,
  ): RewritePlan {
    return {
      ...planned,
      privacy,
      resultTransform: noisyAnswer({
        columns,
        random,
        ...(released ? { released } : {}),
        ...(onRelease ? { onRelease } : {}),
      }),
    };
  }

  /** `SHOW pgveil.budget`: the budget as one row, computed here and sent as constants. */
  async function budgetPlan(port: OutputPortConfig, context: RewriteContext): Promise<RewriteOutcome> {
    const version = context.policies.version;
    if (port.kind !== 'external')
      return refusal('55000', `port "${port.name}" has no privacy budget to show`, ['dp_no_budget_store'], version);
    const account = accountOf(port, context);
    let spent: bigint;
    try {
      spent = await store.spent(account);
    } catch (error) {
      return refusal(
        '58000',
        `the privacy budget of external port "${port.name}" cannot be read (${(error as Error).message})`,
        ['dp_budget_unavailable'],
        version,
      );
    }
    const row: Array<[string, string]> = [
      ['port', port.name],
      ['budget_epsilon', microsText(account.limitMicros)],
      ['spent_epsilon', microsText(spent)],
      ['remaining_epsilon', microsText(account.limitMicros - spent)],
      ['epsilon_per_answer', microsText(toMicros(decimalToRational(port.epsilonPerAnswer!)))],
      ['period_ends', account.window.end.toISOString()],
    ];
    const text = `SELECT ${row.map(([name, value]) => `E'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'::text AS ${name}`).join(', ')}`;
    const planned = rewriteStatement(text, context);
    return planned;
  }
}

/** The data product's policies, with the port's subscribers instead of the product's. */
function withPortSubscribers(policies: PolicySnapshot, port: OutputPortConfig): PolicySnapshot {
  return {
    ...policies,
    subscription(principal) {
      const allowed = isSubscriber(port, principal.user, principal.groups);
      return {
        allowed,
        reasons: [
          { ruleId: `port:${port.name}`, scope: 'subscription', effect: allowed ? 'subscribed' : 'not subscribed' },
        ],
      };
    },
  };
}
