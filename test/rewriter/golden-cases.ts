/**
 * Golden rewrites for the demo's analyst (EU rows, PII masked). `customers(alias)` is the exact
 * derived table the rewriter substitutes; every expected SQL is also executed on PostgreSQL.
 */
const EMAIL =
  "CASE WHEN email IS NULL THEN NULL ELSE CASE WHEN pg_catalog.strpos(email::text, '@') OPERATOR(pg_catalog.<=) 1 THEN pg_catalog.repeat('*', pg_catalog.length(email::text)) ELSE pg_catalog.concat(pg_catalog.left(email::text, 1), pg_catalog.repeat('*', pg_catalog.strpos(email::text, '@') OPERATOR(pg_catalog.-) 2), pg_catalog.substr(email::text, pg_catalog.strpos(email::text, '@'))) END END AS email";
const SSN = 'CASE WHEN ssn IS NULL THEN NULL ELSE pgveil.keyed_hash(ssn::text) END AS ssn';
const keepLast4 = (c: string): string =>
  `CASE WHEN ${c} IS NULL THEN NULL ELSE CASE WHEN pg_catalog.length(${c}::text) OPERATOR(pg_catalog.<=) 4 THEN pg_catalog.repeat('*', pg_catalog.length(${c}::text)) ELSE pg_catalog.concat(pg_catalog.left(${c}::text, 0), pg_catalog.repeat('*', pg_catalog.length(${c}::text) OPERATOR(pg_catalog.-) 4), pg_catalog.right(${c}::text, 4)) END END AS ${c}`;
const BIRTH = "(pg_catalog.date_trunc('year', birth_date))::date AS birth_date";

/** Columns of the derived tables in table order; a statement keeps only those it names (`*` keeps all). */
const CUSTOMER_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['id', 'id AS id'],
  ['name', 'name AS name'],
  ['email', EMAIL],
  ['ssn', SSN],
  ['phone', keepLast4('phone')],
  ['region', 'region AS region'],
  ['birth_date', BIRTH],
  ['created_at', 'created_at AS created_at'],
];
const ORDER_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ['id', 'id AS id'],
  ['customer_id', 'customer_id AS customer_id'],
  ['ordered_at', 'ordered_at AS ordered_at'],
  ['amount', 'amount AS amount'],
  ['card_number', keepLast4('card_number')],
  ['status', 'status AS status'],
];
const select = (columns: ReadonlyArray<readonly [string, string]>, kept: readonly string[] | undefined): string =>
  columns
    .filter(([name]) => !kept || kept.includes(name))
    .map(([, sql]) => sql)
    .join(', ');

export const customers = (alias = 'customers', fenced = false, only = false, kept?: readonly string[]): string =>
  `( SELECT ${select(CUSTOMER_COLUMNS, kept)} FROM ${only ? 'ONLY ' : ''}public.customers WHERE region OPERATOR(pg_catalog.=) ANY (ARRAY['EU'])${fenced ? ' OFFSET 0' : ''} ) AS ${alias}`;
const orders = (alias = 'orders', kept?: readonly string[]): string =>
  `( SELECT ${select(ORDER_COLUMNS, kept)} FROM public.orders ) AS ${alias}`;

/** A protected table inside a view (test/support/view-fixtures.ts): masked, email only, no row filter. */
const visits = (relation: string, alias: string, kept: readonly string[]): string => {
  const columns: ReadonlyArray<readonly [string, string]> = [
    ['id', 'id AS id'],
    ['region', 'region AS region'],
    ['visitor_email', EMAIL.replace(/email/g, 'visitor_email')],
  ];
  return `( SELECT ${select(columns, kept)} FROM public.${relation} ) AS ${alias}`;
};
/** The expansion of view customer_contacts: its stored query over the substituted customers. */
const contacts = (alias = 'customer_contacts(id, name, email, ssn, region)', fenced = false): string =>
  `( SELECT customers.id, customers.name, customers.email, customers.ssn, customers.region FROM ${customers('customers', fenced, false, ['id', 'name', 'email', 'ssn', 'region'])} ) AS ${alias}`;
const euContacts = (fenced: boolean): string =>
  `( SELECT customer_contacts.id, customer_contacts.email, customer_contacts.ssn FROM ${contacts(undefined, fenced)} WHERE customer_contacts.region = 'EU'::text${fenced ? ' OFFSET 0' : ''} ) AS eu_contacts(id, email, ssn)`;

export type Golden =
  | {
      readonly name: string;
      readonly sql: string;
      readonly expected: string;
      readonly searchPath?: string[];
      readonly execute?: boolean;
    }
  | {
      readonly name: string;
      readonly sql: string;
      readonly refused: { readonly sqlstate: string; readonly rule: string };
    };

const c = customers;
const o = orders;

export const GOLDEN: readonly Golden[] = [
  // Substitution in FROM and JOIN items
  {
    name: 'plain select',
    sql: 'SELECT id, email FROM customers',
    expected: `SELECT id, email FROM ${c(undefined, false, false, ['id', 'email'])}`,
  },
  {
    name: 'alias kept',
    sql: 'SELECT c.email FROM customers c',
    expected: `SELECT c.email FROM ${c('c', false, false, ['email'])}`,
  },
  {
    name: 'AS alias kept',
    sql: 'SELECT x.email FROM customers AS x',
    expected: `SELECT x.email FROM ${c('x', false, false, ['email'])}`,
  },
  {
    name: 'column aliases kept',
    sql: 'SELECT a, c FROM customers AS t(a, b, c)',
    expected: `SELECT a, c FROM ${c('t(a, b, c)')}`,
  },
  {
    name: 'schema-qualified',
    sql: 'SELECT email FROM public.customers',
    expected: `SELECT email FROM ${c(undefined, false, false, ['email'])}`,
  },
  {
    name: 'schema-qualified column reference',
    sql: 'SELECT public.customers.ssn FROM public.customers',
    expected: `SELECT customers.ssn FROM ${c(undefined, false, false, ['ssn'])}`,
  },
  {
    name: 'schema-qualified star and join condition',
    sql: 'SELECT public.customers.*, public.orders.amount FROM customers JOIN public.orders ON public.orders.customer_id = public.customers.id',
    expected: `SELECT customers.*, orders.amount FROM ${c()} JOIN ${o()} ON orders.customer_id = customers.id`,
  },
  {
    name: 'database-qualified relation and column (the current data product)',
    sql: 'SELECT demo.public.customers.email FROM demo.public.customers WHERE demo.public.customers.ssn IS NOT NULL',
    expected: `SELECT customers.email FROM ${c(undefined, false, false, ['email', 'ssn'])} WHERE customers.ssn IS NOT NULL`,
  },
  {
    name: 'qualified reference to an unprotected relation is kept',
    sql: "SELECT demo.pg_catalog.pg_class.relname FROM demo.pg_catalog.pg_class WHERE pg_catalog.pg_class.relname = 'pg_class'",
    expected:
      "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class WHERE pg_catalog.pg_class.relname = 'pg_class'",
  },
  {
    name: 'other database refused as PostgreSQL refuses it',
    sql: 'SELECT 1 FROM other.public.customers',
    refused: { sqlstate: '0A000', rule: 'cross_database' },
  },
  {
    name: 'other database in a column reference refused',
    sql: 'SELECT other.public.customers.ssn FROM customers',
    refused: { sqlstate: '0A000', rule: 'cross_database' },
  },
  {
    name: 'schema-qualified reference that the rewrite would rebind refused',
    sql: 'SELECT (SELECT public.customers.ssn FROM (SELECT 1) AS customers) FROM public.customers',
    refused: { sqlstate: '0A000', rule: 'qualified_column' },
  },
  {
    name: 'quoted identifiers',
    sql: 'SELECT "email" FROM "public"."customers"',
    expected: `SELECT email FROM ${c(undefined, false, false, ['email'])}`,
  },
  {
    name: 'case folding',
    sql: 'SELECT EMAIL FROM CUSTOMERS',
    expected: `SELECT email FROM ${c(undefined, false, false, ['email'])}`,
  },
  {
    name: 'unicode escape identifier',
    sql: 'SELECT email FROM U&"\\0063ustomers"',
    expected: `SELECT email FROM ${c(undefined, false, false, ['email'])}`,
  },
  {
    name: 'ONLY',
    sql: 'SELECT email FROM ONLY customers',
    expected: `SELECT email FROM ${c('customers', false, true, ['email'])}`,
  },
  {
    name: 'unprotected table is qualified only',
    sql: 'SELECT 1 FROM pg_class LIMIT 1',
    expected: 'SELECT 1 FROM pg_catalog.pg_class LIMIT 1',
  },
  {
    name: 'inner join',
    sql: 'SELECT c.name, o.amount FROM customers c JOIN orders o ON o.customer_id = c.id',
    expected: `SELECT c.name, o.amount FROM ${c('c', false, false, ['id', 'name'])} JOIN ${o('o', ['id', 'customer_id', 'amount'])} ON o.customer_id = c.id`,
  },
  {
    name: 'left join with non-leakproof ON fences',
    sql: 'SELECT c.name FROM customers c LEFT JOIN orders o ON o.amount > c.id * 2',
    expected: `SELECT c.name FROM ${c('c', true, false, ['id', 'name'])} LEFT JOIN ${o('o', ['id', 'amount'])} ON o.amount > (c.id * 2)`,
  },
  {
    name: 'comma join',
    sql: 'SELECT count(*) FROM customers, orders WHERE orders.customer_id = customers.id',
    expected: `SELECT count(*) FROM ${c(undefined, false, false, ['id'])}, ${o(undefined, ['id', 'customer_id'])} WHERE orders.customer_id = customers.id`,
  },
  {
    name: 'self join',
    sql: 'SELECT a.id FROM customers a JOIN customers b ON a.ssn = b.ssn',
    expected: `SELECT a.id FROM ${c('a', false, false, ['id', 'ssn'])} JOIN ${c('b', false, false, ['id', 'ssn'])} ON a.ssn = b.ssn`,
  },
  // Sub-queries in every clause
  {
    name: 'subquery in FROM',
    sql: 'SELECT s.email FROM (SELECT email FROM customers) s',
    expected: `SELECT s.email FROM ( SELECT email FROM ${c(undefined, false, false, ['email'])} ) AS s`,
  },
  {
    name: 'IN subquery fences',
    sql: 'SELECT id FROM orders WHERE customer_id IN (SELECT id FROM customers)',
    expected: `SELECT id FROM ${o(undefined, ['id', 'customer_id'])} WHERE customer_id IN (SELECT id FROM ${c('customers', true, false, ['id'])})`,
  },
  {
    name: 'EXISTS',
    sql: 'SELECT 1 WHERE EXISTS (SELECT 1 FROM customers WHERE ssn IS NULL)',
    expected: `SELECT 1 WHERE EXISTS (SELECT 1 FROM ${c('customers', true, false, ['ssn'])} WHERE ssn IS NULL)`,
  },
  {
    name: 'scalar subquery in select list',
    sql: 'SELECT (SELECT max(email) FROM customers) AS m',
    expected: `SELECT (SELECT max(email) FROM ${c(undefined, false, false, ['email'])}) AS m`,
  },
  {
    name: 'subquery in HAVING',
    sql: 'SELECT region FROM customers GROUP BY region HAVING count(*) > (SELECT count(*) FROM orders) / 100',
    expected: `SELECT region FROM ${c('customers', true, false, ['region'])} GROUP BY region HAVING count(*) > (((SELECT count(*) FROM ${o(undefined, ['id'])})) / 100)`,
  },
  {
    name: 'subquery in ORDER BY',
    sql: 'SELECT id FROM orders ORDER BY (SELECT email FROM customers WHERE customers.id = orders.customer_id) LIMIT 3',
    expected: `SELECT id FROM ${o(undefined, ['id', 'customer_id'])} ORDER BY (SELECT email FROM ${c(undefined, false, false, ['id', 'email'])} WHERE customers.id = orders.customer_id) LIMIT 3`,
  },
  {
    name: 'subquery in function argument',
    sql: "SELECT coalesce((SELECT ssn FROM customers LIMIT 1), 'x')",
    expected: `SELECT COALESCE((SELECT ssn FROM ${c(undefined, false, false, ['ssn'])} LIMIT 1), 'x')`,
  },
  {
    name: 'LATERAL',
    sql: 'SELECT o.id, l.email FROM orders o, LATERAL (SELECT email FROM customers c WHERE c.id = o.customer_id) l',
    expected: `SELECT o.id, l.email FROM ${o('o', ['id', 'customer_id'])}, LATERAL ( SELECT email FROM ${c('c', false, false, ['id', 'email'])} WHERE c.id = o.customer_id ) AS l`,
  },
  // CTEs
  {
    name: 'CTE over protected table',
    sql: 'WITH x AS (SELECT email FROM customers) SELECT * FROM x',
    expected: `WITH x AS (SELECT email FROM ${c()}) SELECT * FROM x`,
  },
  {
    name: 'CTE named like the table shadows it',
    sql: 'WITH customers AS (SELECT 1 AS id) SELECT id FROM customers',
    expected: 'WITH customers AS (SELECT 1 AS id) SELECT id FROM customers',
  },
  {
    name: 'CTE body sees the real table, not its own name',
    sql: 'WITH customers AS (SELECT email FROM customers) SELECT email FROM customers',
    expected: `WITH customers AS (SELECT email FROM ${c(undefined, false, false, ['email'])}) SELECT email FROM customers`,
  },
  {
    name: 'earlier CTE does not see a later sibling',
    sql: 'WITH a AS (SELECT email FROM customers), customers AS (SELECT 1 AS email) SELECT * FROM a',
    expected: `WITH a AS (SELECT email FROM ${c()}), customers AS (SELECT 1 AS email) SELECT * FROM a`,
  },
  {
    name: 'recursive CTE',
    sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n, (SELECT count(*) FROM customers) FROM r',
    expected: `WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n, (SELECT count(*) FROM ${c(undefined, false, false, ['id'])}) FROM r`,
  },
  {
    name: 'CTE shadowing inside a sub-query only',
    sql: 'SELECT (WITH customers AS (SELECT 2 AS id) SELECT id FROM customers), (SELECT count(*) FROM customers)',
    expected: `SELECT (WITH customers AS (SELECT 2 AS id) SELECT id FROM customers), (SELECT count(*) FROM ${c(undefined, false, false, ['id'])})`,
  },
  // Set operations, TABLE, VALUES, whole-row
  {
    name: 'UNION',
    sql: 'SELECT email FROM customers UNION SELECT status FROM orders',
    expected: `SELECT email FROM ${c(undefined, false, false, ['email'])} UNION SELECT status FROM ${o(undefined, ['status'])}`,
  },
  {
    name: 'EXCEPT',
    sql: 'SELECT ssn FROM customers EXCEPT SELECT ssn FROM customers WHERE id = 1',
    expected: `SELECT ssn FROM ${c(undefined, false, false, ['id', 'ssn'])} EXCEPT SELECT ssn FROM ${c(undefined, false, false, ['id', 'ssn'])} WHERE id = 1`,
  },
  { name: 'TABLE', sql: 'TABLE customers', expected: `SELECT * FROM ${c()}` },
  {
    name: 'whole-row reference',
    sql: 'SELECT c FROM customers c WHERE id = 3',
    expected: `SELECT c FROM ${c('c')} WHERE id = 3`,
  },
  // Narrowing: a derived table keeps the columns the statement names anywhere, all of them otherwise.
  {
    name: 'JOIN USING keeps the joined column',
    sql: 'SELECT email FROM customers JOIN (SELECT 1 AS id) x USING (id)',
    expected: `SELECT email FROM ${c(undefined, false, false, ['id', 'email'])} JOIN ( SELECT 1 AS id ) AS x USING (id)`,
  },
  {
    name: 'NATURAL JOIN keeps every column',
    sql: 'SELECT email FROM customers NATURAL JOIN (SELECT 1 AS id) x',
    expected: `SELECT email FROM ${c()} NATURAL JOIN ( SELECT 1 AS id ) AS x`,
  },
  {
    name: 'count(*) keeps one column',
    sql: 'SELECT count(*) FROM customers',
    expected: `SELECT count(*) FROM ${c(undefined, false, false, ['id'])}`,
  },
  {
    name: 'a name used anywhere stays in every derived table',
    sql: 'SELECT c.email FROM customers c JOIN orders o ON o.customer_id = c.id',
    expected: `SELECT c.email FROM ${c('c', false, false, ['id', 'email'])} JOIN ${o('o', ['id', 'customer_id'])} ON o.customer_id = c.id`,
  },
  {
    name: 'row_to_json',
    sql: 'SELECT row_to_json(c) FROM customers c LIMIT 1',
    expected: `SELECT row_to_json(c) FROM ${c('c')} LIMIT 1`,
  },
  { name: 'VALUES untouched', sql: "VALUES (1, 'a')", expected: "VALUES (1, 'a')" },
  // Inference: predicates, ordering, grouping and windows see masked values
  {
    name: 'LIKE on a hashed column fences',
    sql: "SELECT name FROM customers WHERE ssn LIKE '123%'",
    expected: `SELECT name FROM ${c('customers', true, false, ['name', 'ssn'])} WHERE ssn LIKE '123%'`,
  },
  {
    name: 'plain equality keeps the filter pull-up-able',
    sql: 'SELECT name FROM customers WHERE id = 3',
    expected: `SELECT name FROM ${c(undefined, false, false, ['id', 'name'])} WHERE id = 3`,
  },
  {
    name: 'IN list is leakproof',
    sql: 'SELECT name FROM customers WHERE id IN (3, 6)',
    expected: `SELECT name FROM ${c(undefined, false, false, ['id', 'name'])} WHERE id IN (3, 6)`,
  },
  {
    name: 'division fences',
    sql: "SELECT 1 FROM customers WHERE 1 / (CASE WHEN region = 'US' THEN 0 ELSE 1 END) = 1",
    expected: `SELECT 1 FROM ${c('customers', true, false, ['region'])} WHERE (1 / (CASE WHEN region = 'US' THEN 0 ELSE 1 END)) = 1`,
  },
  {
    name: 'cast of a column fences',
    sql: 'SELECT 1 FROM customers WHERE ssn::int > 0',
    expected: `SELECT 1 FROM ${c('customers', true, false, ['ssn'])} WHERE ssn::int > 0`,
    execute: false,
  },
  {
    name: 'ORDER BY masked column',
    sql: 'SELECT id FROM customers ORDER BY ssn LIMIT 2',
    expected: `SELECT id FROM ${c(undefined, false, false, ['id', 'ssn'])} ORDER BY ssn LIMIT 2`,
  },
  {
    name: 'GROUP BY masked column',
    sql: 'SELECT email, count(*) FROM customers GROUP BY email',
    expected: `SELECT email, count(*) FROM ${c(undefined, false, false, ['email'])} GROUP BY email`,
  },
  {
    name: 'DISTINCT',
    sql: 'SELECT DISTINCT phone FROM customers',
    expected: `SELECT DISTINCT phone FROM ${c(undefined, false, false, ['phone'])}`,
  },
  {
    name: 'window',
    sql: 'SELECT id, rank() OVER (ORDER BY ssn) FROM customers',
    expected: `SELECT id, rank() OVER (ORDER BY ssn) FROM ${c(undefined, false, false, ['id', 'ssn'])}`,
  },
  {
    name: 'aggregate over masked column',
    sql: "SELECT string_agg(email, ',') FROM customers",
    expected: `SELECT string_agg(email, ',') FROM ${c(undefined, false, false, ['email'])}`,
  },
  // Statement forms
  {
    name: 'COPY table to stdout',
    sql: 'COPY customers TO STDOUT',
    expected: `COPY (SELECT * FROM ${c()}) TO STDOUT`,
    execute: false,
  },
  {
    name: 'COPY columns to stdout',
    sql: 'COPY customers (id, email) TO STDOUT',
    expected: `COPY (SELECT id, email FROM ${c(undefined, false, false, ['id', 'email'])}) TO STDOUT`,
    execute: false,
  },
  {
    name: 'COPY query to stdout',
    sql: 'COPY (SELECT ssn FROM customers) TO STDOUT WITH (FORMAT csv)',
    expected: `COPY (SELECT ssn FROM ${c(undefined, false, false, ['ssn'])}) TO STDOUT WITH (FORMAT csv)`,
    execute: false,
  },
  {
    name: 'DECLARE cursor',
    sql: 'DECLARE cur CURSOR FOR SELECT email FROM customers',
    expected: `DECLARE cur CURSOR FOR SELECT email FROM ${c(undefined, false, false, ['email'])}`,
  },
  {
    name: 'PREPARE',
    sql: 'PREPARE p (int) AS SELECT email FROM customers WHERE id = $1',
    expected: `PREPARE p (int) AS SELECT email FROM ${c(undefined, false, false, ['id', 'email'])} WHERE id = $1`,
  },
  { name: 'EXPLAIN of an unprotected query', sql: 'EXPLAIN SELECT 1', expected: 'EXPLAIN SELECT 1' },
  // A sub-query cannot be sampled: the sample moves onto the table inside the derived table.
  {
    name: 'TABLESAMPLE samples the table under the masks and filter',
    sql: 'SELECT id FROM customers TABLESAMPLE BERNOULLI (50) REPEATABLE (1)',
    expected: `SELECT id FROM ${c(undefined, false, false, ['id']).replace('FROM public.customers WHERE', 'FROM public.customers TABLESAMPLE bernoulli (50) REPEATABLE (1) WHERE')}`,
  },
  {
    name: 'TABLESAMPLE keeps the alias',
    sql: 'SELECT o.id FROM orders o TABLESAMPLE SYSTEM (100)',
    expected: `SELECT o.id FROM ${o('o', ['id']).replace('FROM public.orders )', 'FROM public.orders TABLESAMPLE system (100) )')}`,
  },
  { name: 'SET search_path tracked', sql: 'SET search_path = public', expected: "SET search_path TO E'public'" },
  {
    name: 'SET LOCAL search_path tracked until the transaction ends',
    sql: 'SET LOCAL search_path = public',
    expected: "SET LOCAL search_path TO E'public'",
  },
  // The deparser once printed SET values without escaping their quotes: a second statement rode along.
  {
    name: 'SET value with quotes stays one value',
    sql: "SET application_name = 'x''; SELECT ssn FROM customers; --'",
    expected: "SET application_name TO E'x''; SELECT ssn FROM customers; --'",
  },
  {
    name: 'SET value with a backslash',
    sql: "SET application_name = 'a\\b'",
    expected: "SET application_name TO E'a\\\\b'",
  },
  {
    name: 'search_path resolves',
    sql: 'SELECT email FROM customers',
    searchPath: ['pg_catalog', 'public'],
    expected: `SELECT email FROM ${c(undefined, false, false, ['email'])}`,
  },
  {
    name: 'multi-statement',
    sql: 'SELECT 1; SELECT email FROM customers',
    expected: `SELECT 1;\nSELECT email FROM ${c(undefined, false, false, ['email'])}`,
  },
  {
    name: 'comments removed',
    sql: '/* x /* nested */ */ SELECT email FROM customers -- trailing',
    expected: `SELECT email FROM ${c(undefined, false, false, ['email'])}`,
  },
  { name: 'dollar-quoted literal', sql: 'SELECT $q$customers$q$ AS t', expected: "SELECT 'customers' AS t" },
  { name: 'transaction control', sql: 'BEGIN READ ONLY', expected: 'BEGIN READ ONLY' },
  { name: 'SHOW', sql: 'SHOW search_path', expected: 'SHOW search_path' },
  {
    name: 'psql-style catalog query',
    sql: "SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(customers)$'",
    expected: "SELECT c.relname FROM pg_catalog.pg_class AS c WHERE c.relname OPERATOR(pg_catalog.~) '^(customers)$'",
  },
  // Views over protected relations are expanded: their stored query, substituted like any other
  {
    name: 'view over a protected table',
    sql: 'SELECT email FROM customer_contacts',
    expected: `SELECT email FROM ${contacts()}`,
  },
  {
    name: 'view under an alias',
    sql: 'SELECT v.ssn FROM customer_contacts v ORDER BY v.ssn LIMIT 3',
    expected: `SELECT v.ssn FROM ${contacts('v(id, name, email, ssn, region)')} ORDER BY v.ssn LIMIT 3`,
  },
  {
    name: 'nested view with renamed columns',
    sql: 'SELECT customer, mail FROM contact_names ORDER BY mail',
    expected: `SELECT customer, mail FROM ( SELECT customer_contacts.name AS customer, customer_contacts.email AS mail FROM ${contacts()} ) AS contact_names(customer, mail) ORDER BY mail`,
  },
  {
    name: 'column alias list over a view replaces its names from the left',
    sql: 'SELECT x.a, x.mail FROM contact_names AS x(a)',
    expected: `SELECT x.a, x.mail FROM ( SELECT customer_contacts.name AS customer, customer_contacts.email AS mail FROM ${contacts()} ) AS x(a, mail)`,
  },
  {
    name: 'security_barrier view WITH CHECK OPTION, leakproof predicate: no fence',
    sql: 'SELECT id FROM eu_contacts WHERE id = 3',
    expected: `SELECT id FROM ${euContacts(false)} WHERE id = 3`,
  },
  {
    name: 'security_barrier view, leaky predicate: its conditions and the row filter fenced',
    sql: "SELECT id FROM eu_contacts WHERE ssn LIKE '1%'",
    expected: `SELECT id FROM ${euContacts(true)} WHERE ssn LIKE '1%'`,
  },
  {
    name: 'view joining a protected table to itself',
    sql: 'SELECT first_id, second_id FROM shared_ssn WHERE first_id = 3',
    expected: `SELECT first_id, second_id FROM ( SELECT a.id AS first_id, b.id AS second_id, a.ssn FROM ${customers('a', false, false, ['id', 'ssn'])} JOIN ${customers('b', false, false, ['id', 'ssn'])} ON a.ssn = b.ssn AND a.id <= b.id ) AS shared_ssn(first_id, second_id, ssn) WHERE first_id = 3`,
  },
  {
    name: 'view joining two protected tables',
    sql: 'SELECT card_number, email FROM order_cards',
    expected: `SELECT card_number, email FROM ( SELECT o.id, o.card_number, c.email FROM ${orders('o', ['id', 'customer_id', 'card_number'])} JOIN ${customers('c', false, false, ['id', 'email'])} ON c.id = o.customer_id ) AS order_cards(id, card_number, email)`,
  },
  {
    name: 'view over a partitioned table',
    sql: 'SELECT visitor_email FROM visit_emails',
    expected: `SELECT visitor_email FROM ( SELECT visits.id, visits.visitor_email FROM ${visits('visits', 'visits', ['id', 'visitor_email'])} ) AS visit_emails(id, visitor_email)`,
  },
  {
    name: 'view over one partition',
    sql: 'SELECT visitor_email FROM us_visit_emails',
    expected: `SELECT visitor_email FROM ( SELECT visits_us.id, visits_us.visitor_email FROM ${visits('visits_us', 'visits_us', ['id', 'visitor_email'])} ) AS us_visit_emails(id, visitor_email)`,
  },
  {
    name: "partition named directly has its parent's masks",
    sql: 'SELECT id, visitor_email FROM visits_us',
    expected: `SELECT id, visitor_email FROM ${visits('visits_us', 'visits_us', ['id', 'visitor_email'])}`,
  },
  {
    name: "view names bound at creation, not by the reader's CTE",
    sql: 'WITH customers AS (SELECT 1 AS email) SELECT email FROM customer_contacts',
    expected: `WITH customers AS (SELECT 1 AS email) SELECT email FROM ${contacts()}`,
  },
  {
    name: 'materialized view masked by its own tags',
    sql: 'SELECT id, ssn FROM customer_ssn_copy',
    expected: `SELECT id, ssn FROM ( SELECT id AS id, ${SSN} FROM public.customer_ssn_copy ) AS customer_ssn_copy`,
  },
  // Refusals
  {
    name: 'TABLESAMPLE on an expanded view',
    sql: 'SELECT id FROM customer_contacts TABLESAMPLE SYSTEM (10)',
    refused: { sqlstate: '42809', rule: 'statement_class' },
  },
  { name: 'DML', sql: 'DELETE FROM customers', refused: { sqlstate: '42501', rule: 'statement_class' } },
  {
    name: 'UPDATE ... RETURNING',
    sql: 'UPDATE customers SET name = name RETURNING ssn',
    refused: { sqlstate: '42501', rule: 'statement_class' },
  },
  {
    name: 'INSERT ... SELECT',
    sql: 'INSERT INTO orders SELECT * FROM orders',
    refused: { sqlstate: '42501', rule: 'statement_class' },
  },
  {
    name: 'data-modifying CTE',
    sql: 'WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d',
    refused: { sqlstate: '42501', rule: 'data_modification' },
  },
  {
    name: 'CREATE TABLE AS',
    sql: 'CREATE TABLE leak AS SELECT * FROM customers',
    refused: { sqlstate: '42501', rule: 'statement_class' },
  },
  {
    name: 'SELECT INTO',
    sql: 'SELECT * INTO leak FROM customers',
    refused: { sqlstate: '42501', rule: 'select_into' },
  },
  {
    name: 'CREATE VIEW',
    sql: 'CREATE VIEW v AS SELECT * FROM customers',
    refused: { sqlstate: '42501', rule: 'statement_class' },
  },
  {
    name: 'DO',
    sql: "DO $$ BEGIN RAISE NOTICE '%', (SELECT ssn FROM customers LIMIT 1); END $$",
    refused: { sqlstate: '42501', rule: 'statement_class' },
  },
  { name: 'COPY FROM', sql: 'COPY customers FROM STDIN', refused: { sqlstate: '42501', rule: 'copy_from' } },
  { name: 'COPY to file', sql: "COPY customers TO '/tmp/x'", refused: { sqlstate: '42501', rule: 'copy_to_file' } },
  {
    name: 'COPY to program',
    sql: "COPY customers TO PROGRAM 'cat'",
    refused: { sqlstate: '42501', rule: 'copy_to_file' },
  },
  {
    name: 'query_to_xml',
    sql: "SELECT query_to_xml('select ssn from customers', true, true, '')",
    refused: { sqlstate: '42501', rule: 'refused_function' },
  },
  {
    name: 'pg_read_file',
    sql: "SELECT pg_read_file('/etc/passwd')",
    refused: { sqlstate: '42501', rule: 'refused_function' },
  },
  {
    name: 'dblink',
    sql: "SELECT * FROM dblink('host=x', 'select 1') AS t(a int)",
    refused: { sqlstate: '42501', rule: 'refused_function' },
  },
  {
    name: 'set_config of an expression',
    sql: "SELECT set_config('search_path', 'x' || 'y', false)",
    refused: { sqlstate: '42501', rule: 'refused_function' },
  },
  {
    name: 'set_config once per row',
    sql: "SELECT set_config('work_mem', '1MB', false) FROM customers",
    refused: { sqlstate: '42501', rule: 'refused_function' },
  },
  {
    name: 'set_config with constants is a SET',
    sql: "SELECT set_config('search_path', 'x', false)",
    expected: "SELECT pg_catalog.set_config(E'search_path', E'x', false)",
    execute: false,
  },
  {
    name: 'LOCK in access share mode, qualified',
    sql: 'LOCK orders IN ACCESS SHARE MODE',
    expected: 'LOCK TABLE public.orders IN ACCESS SHARE MODE',
    execute: false,
  },
  {
    name: 'LOCK in a stronger mode',
    sql: 'LOCK orders IN EXCLUSIVE MODE',
    refused: { sqlstate: '42501', rule: 'lock_mode' },
  },
  {
    name: 'large objects',
    sql: "SELECT lo_import('/etc/passwd')",
    refused: { sqlstate: '42501', rule: 'refused_function' },
  },
  {
    name: 'helper schema function',
    sql: "SELECT pgveil.keyed_hash('123-45-6789')",
    refused: { sqlstate: '42501', rule: 'helper_schema' },
  },
  { name: 'pg_stats', sql: 'SELECT * FROM pg_stats', refused: { sqlstate: '42501', rule: 'refused_catalog' } },
  {
    name: 'pg_statistic',
    sql: 'SELECT * FROM pg_catalog.pg_statistic',
    refused: { sqlstate: '42501', rule: 'refused_catalog' },
  },
  {
    name: 'pg_stat_activity',
    sql: 'SELECT query FROM pg_stat_activity',
    refused: { sqlstate: '42501', rule: 'refused_catalog' },
  },
  {
    name: 'EXPLAIN ANALYZE',
    sql: 'EXPLAIN ANALYZE SELECT * FROM customers',
    refused: { sqlstate: '42501', rule: 'explain_analyze' },
  },
  {
    name: 'EXPLAIN over protected',
    sql: "EXPLAIN SELECT * FROM customers WHERE ssn = '1'",
    refused: { sqlstate: '42501', rule: 'explain_protected' },
  },
  {
    name: 'FOR UPDATE',
    sql: 'SELECT * FROM customers FOR UPDATE',
    refused: { sqlstate: '42501', rule: 'row_locking' },
  },
  {
    name: 'unknown relation',
    sql: 'SELECT * FROM no_such_table',
    refused: { sqlstate: '42P01', rule: 'unknown_relation' },
  },
  {
    name: 'unsafe setting',
    sql: 'SET session_authorization = postgres',
    refused: { sqlstate: '42501', rule: 'setting' },
  },
  {
    name: 'pg_catalog demoted in search_path',
    sql: 'SET search_path = public, pg_catalog',
    refused: { sqlstate: '42501', rule: 'search_path' },
  },
  {
    name: 'unsafe client encoding',
    sql: "SET client_encoding = 'SJIS'",
    refused: { sqlstate: '42501', rule: 'setting' },
  },
  { name: 'LISTEN', sql: 'LISTEN channel', refused: { sqlstate: '42501', rule: 'statement_class' } },
  { name: 'syntax error', sql: 'SELEC 1', refused: { sqlstate: '42601', rule: 'syntax_error' } },
  {
    name: 'PREPARE TRANSACTION',
    sql: "PREPARE TRANSACTION 'x'",
    refused: { sqlstate: '42501', rule: 'two_phase_commit' },
  },
];
