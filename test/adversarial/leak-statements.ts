/**
 * What a curious or malicious analyst might send to read a masked value or a hidden row. Each runs
 * as `analyst` through pgveil; a refusal is fine, an answer must carry no canary.
 */
export interface LeakCase {
  readonly category: string;
  readonly sql: string;
  /** When set, the statement must be refused with this SQLSTATE. */
  readonly refused?: string;
  /**
   * How the correctness oracle (leak-oracle.test.ts) treats an answered case. By default the same
   * SQL runs directly on PostgreSQL with the protected tables replaced by secure views (schema
   * `reference`) and the answers must be equal. `referenceSql` is the equivalent statement for the
   * reference run (for instance `public.customers` spelled `reference.customers`); `exclude` says
   * why a case cannot be compared at all.
   */
  readonly oracle?: { readonly referenceSql?: string; readonly exclude?: string };
}

const q = (category: string, sql: string, refused?: string, oracle?: LeakCase['oracle']): LeakCase => ({
  category,
  sql,
  ...(refused ? { refused } : {}),
  ...(oracle ? { oracle } : {}),
});
/** The statement to run over the secure views instead (same meaning, reference relations named). */
const ref = (referenceSql: string): LeakCase['oracle'] => ({ referenceSql });
/** Not compared with the secure-view reference, for the reason given. */
const exclude = (reason: string): LeakCase['oracle'] => ({ exclude: reason });

export const LEAK_CASES: readonly LeakCase[] = [
  // identifiers
  q('identifier', 'SELECT * FROM customers'),
  q('identifier', 'SELECT * FROM public.customers', undefined, ref('SELECT * FROM reference.customers')),
  q('identifier', 'SELECT * FROM "public"."customers"', undefined, ref('SELECT * FROM "reference"."customers"')),
  q('identifier', 'SELECT * FROM PUBLIC.CUSTOMERS', undefined, ref('SELECT * FROM REFERENCE.CUSTOMERS')),
  q('identifier', 'SELECT * FROM U&"\\0063ustomers"'),
  q('identifier', 'SELECT * FROM U&"!0063ustomers" UESCAPE \'!\''),
  q('identifier', 'SELECT * FROM ONLY customers'),
  q('identifier', 'SELECT * FROM "Customers"', '42P01'),
  q('identifier', 'SELECT * FROM pg_temp.customers', '42P01'),
  q('identifier', 'SELECT * FROM other_db.public.customers', '0A000'),
  q(
    'identifier',
    'SELECT public.customers.ssn, public.customers.email, public.customers.phone, public.customers.name FROM public.customers',
    undefined,
    ref(
      'SELECT reference.customers.ssn, reference.customers.email, reference.customers.phone, reference.customers.name FROM reference.customers',
    ),
  ),
  q(
    'identifier',
    "SELECT count(*) FROM customers WHERE public.customers.ssn LIKE 'ZQ7%'",
    undefined,
    ref("SELECT count(*) FROM reference.customers WHERE reference.customers.ssn LIKE 'ZQ7%'"),
  ),
  q(
    'identifier',
    'SELECT demo.public.customers.* FROM demo.public.customers',
    undefined,
    ref('SELECT reference.customers.* FROM reference.customers'),
  ),
  q(
    'identifier',
    'SELECT demo.public.customers.ssn FROM demo.public.customers ORDER BY demo.public.customers.ssn',
    undefined,
    ref('SELECT reference.customers.ssn FROM reference.customers ORDER BY reference.customers.ssn'),
  ),
  q('identifier', 'SELECT other_db.public.customers.ssn FROM customers', '0A000'),
  // scope
  q(
    'scope',
    'WITH customers AS (SELECT * FROM public.customers) SELECT * FROM customers',
    undefined,
    ref('WITH customers AS (SELECT * FROM reference.customers) SELECT * FROM customers'),
  ),
  q('scope', 'WITH a AS (SELECT * FROM customers), customers AS (SELECT 1) SELECT * FROM a'),
  q(
    'scope',
    'WITH RECURSIVE r AS (SELECT ssn, email, name FROM customers UNION SELECT ssn, email, name FROM r) SELECT * FROM r',
  ),
  q('scope', 'SELECT * FROM (SELECT * FROM customers) customers'),
  q('scope', 'SELECT * FROM (SELECT * FROM (SELECT * FROM customers) a) b'),
  q('scope', 'SELECT x.* FROM orders o, LATERAL (SELECT * FROM customers c WHERE c.id = o.customer_id) x'),
  q('scope', 'SELECT name FROM customers UNION ALL SELECT email FROM customers UNION ALL SELECT ssn FROM customers'),
  q('scope', 'SELECT ssn FROM customers INTERSECT SELECT ssn FROM customers'),
  q('scope', "(SELECT name FROM customers) EXCEPT (SELECT 'x')"),
  q('scope', 'SELECT c FROM customers c'),
  q('scope', 'SELECT row_to_json(c) FROM customers c'),
  q('scope', 'SELECT to_jsonb(c.*) FROM customers c'),
  q('scope', 'SELECT (c).* FROM customers c'),
  q('scope', 'TABLE customers'),
  q('scope', 'TABLE orders'),
  q('scope', "SELECT (SELECT string_agg(name || email || ssn, ',') FROM customers)"),
  q('scope', 'SELECT * FROM customers NATURAL JOIN orders'),
  q('scope', 'SELECT * FROM orders o FULL JOIN customers c ON c.id = o.customer_id WHERE o.id < 5 OR c.id < 5'),
  // inference
  q('inference', "SELECT count(*) FROM customers WHERE ssn LIKE 'ZQ7%'"),
  q('inference', "SELECT count(*) FROM customers WHERE name = 'ZQ7NAME-US'"),
  q('inference', "SELECT id FROM customers WHERE email LIKE 'zq7%' ORDER BY ssn"),
  q('inference', 'SELECT min(ssn), max(ssn), min(email), max(email), min(name), max(name) FROM customers'),
  q('inference', "SELECT string_agg(ssn, ','), array_agg(email) FROM customers"),
  q('inference', "SELECT ssn, count(*) FROM customers GROUP BY ssn HAVING ssn LIKE 'Z%'"),
  q('inference', 'SELECT DISTINCT ON (ssn) ssn, email FROM customers'),
  q(
    'inference',
    'SELECT id, lag(ssn) OVER (ORDER BY ssn), first_value(email) OVER w FROM customers WINDOW w AS (ORDER BY email ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)',
  ),
  q('inference', "SELECT 1 FROM customers WHERE 1 / (CASE WHEN name = 'ZQ7NAME-US' THEN 0 ELSE 1 END) = 1"),
  q('inference', "SELECT 1 FROM customers WHERE 1 / (CASE WHEN region = 'US' THEN 0 ELSE 1 END) = 1"),
  q('inference', 'SELECT ssn::int FROM customers'),
  q('inference', 'SELECT name::int FROM customers'),
  q('inference', 'SELECT 1 FROM customers WHERE name::int = 1'),
  q('inference', 'SELECT email::date FROM customers'),
  q('inference', "SELECT 1 FROM customers WHERE (name || 'x')::int > 0"),
  q('inference', "SELECT generate_series(1, length(name)) FROM customers WHERE region = 'US'"),
  q('inference', "SELECT o.id FROM orders o JOIN customers c ON c.ssn = 'ZQ7SSN-EU-991' AND c.id = o.customer_id"),
  q('inference', "SELECT regexp_replace(name, '.', 'x') FROM customers WHERE region <> 'EU'"),
  q('inference', "SELECT count(*) FROM customers WHERE region IN ('US', 'APAC')"),
  q('inference', 'SELECT * FROM customers WHERE id IN (1, 2)'),
  q('inference', "SELECT * FROM orders WHERE card_number LIKE 'ZQ7%'"),
  q('inference', 'SELECT pg_catalog.length(ssn) FROM customers WHERE id = 3'),
  // side channels
  q('side-channel', "SELECT query_to_xml('SELECT * FROM customers', true, true, '')", '42501'),
  q('side-channel', "SELECT table_to_xml('customers', true, true, '')", '42501'),
  q('side-channel', "SELECT cursor_to_xml('c', 10, true, true, '')", '42501'),
  q('side-channel', "SELECT * FROM ts_stat('SELECT to_tsvector(name) FROM customers')", '42501'),
  q('side-channel', "SELECT pg_read_file('base/1/1')", '42501'),
  q('side-channel', "SELECT lo_import('/etc/hostname')", '42501'),
  q('side-channel', "SELECT set_config('search_path', 'public', false) FROM customers", '42501'),
  q('side-channel', "SELECT set_config('search_path', current_setting('search_path'), false)", '42501'),
  q('side-channel', 'SELECT query FROM pg_stat_activity', '42501'),
  q('side-channel', 'SELECT * FROM pg_catalog.pg_stat_activity', '42501'),
  q('side-channel', 'SELECT * FROM pg_stat_get_activity(NULL)', '42501'),
  q('side-channel', 'SELECT * FROM pg_stats', '42501'),
  q('side-channel', 'SELECT stakind1, stavalues1 FROM pg_statistic', '42501'),
  q('side-channel', 'SELECT * FROM pg_stats_ext', '42501'),
  q('side-channel', 'SELECT * FROM pg_stat_statements', '42P01'), // not installed here: unknown, hence refused
  q('side-channel', 'SELECT current_query()', '42501'),
  q('side-channel', "SELECT pgveil.keyed_hash('ZQ7SSN-EU-991')", '42501'),
  q('side-channel', 'SELECT * FROM pgveil.hash_key', '42501'),
  q('side-channel', 'EXPLAIN SELECT * FROM customers', '42501'),
  q('side-channel', 'EXPLAIN (VERBOSE) SELECT * FROM customers', '42501'),
  q('side-channel', 'EXPLAIN ANALYZE SELECT * FROM customers', '42501'),
  q('side-channel', "EXPLAIN SELECT * FROM customers WHERE ssn = 'ZQ7SSN-US-992'", '42501'),
  q('side-channel', 'SELECT pg_cancel_backend(1)', '42501'),
  q('side-channel', "SELECT pg_notify('c', (SELECT name FROM customers LIMIT 1))", '42501'),
  q('side-channel', "SELECT dblink_connect('host=127.0.0.1')", '42501'),
  // write paths
  q('write', 'DELETE FROM customers RETURNING *', '42501'),
  q('write', 'UPDATE customers SET name = name RETURNING ssn, email', '42501'),
  q('write', 'INSERT INTO orders SELECT * FROM orders RETURNING *', '42501'),
  q('write', 'CREATE TABLE leak AS SELECT * FROM customers', '42501'),
  q('write', 'SELECT * INTO leak FROM customers', '42501'),
  q('write', 'CREATE TEMP TABLE customers AS SELECT 1', '42501'),
  q('write', 'CREATE VIEW v AS SELECT * FROM customers', '42501'),
  q('write', "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS 'SELECT ssn FROM customers'", '42501'),
  q('write', "DO $$ BEGIN RAISE EXCEPTION '%', (SELECT string_agg(ssn, ',') FROM customers); END $$", '42501'),
  q('write', 'CALL p()', '42501'),
  q('write', 'WITH d AS (UPDATE customers SET name = name RETURNING *) SELECT * FROM d', '42501'),
  q('write', 'SELECT * FROM customers FOR UPDATE', '42501'),
  q('write', 'TRUNCATE customers', '42501'),
  q('write', 'ALTER ROLE CURRENT_USER SET search_path = x', '42501'),
  q('write', "LOAD 'auto_explain'", '42501'),
  q('write', 'GRANT SELECT ON customers TO PUBLIC', '42501'),
  // cursors and prepared statements
  q('cursor', 'DECLARE c CURSOR WITH HOLD FOR SELECT * FROM customers; FETCH ALL FROM c; CLOSE c'),
  q(
    'cursor',
    'BEGIN; DECLARE c SCROLL CURSOR FOR SELECT ssn, name FROM customers; FETCH LAST FROM c; MOVE FIRST IN c; FETCH NEXT FROM c; COMMIT',
  ),
  q('prepared', 'PREPARE p AS SELECT * FROM customers; EXECUTE p; DEALLOCATE p'),
  q(
    'prepared',
    "PREPARE p2(text) AS SELECT $1; EXECUTE p2((SELECT string_agg(ssn, ',') FROM customers)); DEALLOCATE p2",
  ),
  // COPY
  // PostgreSQL cannot COPY from a view: the reference copies the view's query instead.
  q('copy', 'COPY customers TO STDOUT', undefined, ref('COPY (SELECT * FROM customers) TO STDOUT')),
  q(
    'copy',
    'COPY customers (ssn, email, name) TO STDOUT WITH (FORMAT csv, HEADER)',
    undefined,
    ref('COPY (SELECT ssn, email, name FROM customers) TO STDOUT WITH (FORMAT csv, HEADER)'),
  ),
  q('copy', "COPY (SELECT * FROM customers WHERE region = 'US') TO STDOUT"),
  q('copy', 'COPY orders TO STDOUT', undefined, ref('COPY (SELECT * FROM orders) TO STDOUT')),
  q('copy', "COPY customers TO '/tmp/pgveil-leak.csv'", '42501'),
  q('copy', "COPY customers TO PROGRAM 'cat'", '42501'),
  q('copy', 'COPY customers FROM STDIN', '42501'),
  q('copy', "COPY (SELECT 1) TO PROGRAM 'id'", '42501'),
  // multi-statement and settings
  q('multi', 'SELECT 1; SELECT * FROM customers'),
  q(
    'multi',
    'SET search_path = pg_catalog; SELECT * FROM public.customers',
    undefined,
    ref('SET search_path = pg_catalog; SELECT * FROM reference.customers'),
  ),
  q('multi', 'SET search_path = public, pg_catalog', '42501'),
  q(
    'multi',
    'BEGIN; SET LOCAL search_path = pg_catalog; SELECT * FROM public.customers; ROLLBACK',
    undefined,
    ref('BEGIN; SET LOCAL search_path = pg_catalog; SELECT * FROM reference.customers; ROLLBACK'),
  ),
  q('multi', 'SET role postgres', '42501'),
  q('multi', 'SET SESSION AUTHORIZATION postgres', '42501'),
  q('multi', "SET client_encoding = 'SJIS'", '42501'),
  q('multi', 'RESET ALL; SELECT * FROM customers'),
  q('multi', 'DISCARD ALL; SELECT * FROM customers'),
  q('multi', 'SELECT 1; DELETE FROM customers', '42501'),
  // A quote inside a SET value once ended the value when pgveil printed it: the rest ran unrewritten.
  q(
    'multi',
    "SET application_name = 'x''; SELECT ssn, email, name FROM public.customers; --'",
    undefined,
    ref("SET application_name = 'x''; SELECT ssn, email, name FROM public.customers; --'"),
  ),
  // parser-differential tricks
  q('parser', 'SELECT/**/ssn/**/FROM/**/customers'),
  q('parser', 'SELECT ssn FROM customers /* nested /* comment */ still comment */'),
  q('parser', 'SELECT $$ssn$$, ssn FROM customers'),
  q('parser', "SELECT $tag$ '; SELECT * FROM customers; -- $tag$, name FROM customers"),
  q('parser', "SELECT E'\\x27', name FROM customers"),
  q('parser', "SELECT 'a'';SELECT ssn FROM customers;--', name FROM customers"),
  q('parser', 'SELECT name FROM customers;;;'),
  q('parser', 'SELECT name FROM customers -- ; SELECT * FROM pg_stats'),
  q('parser', "SELECT U&'\\0041', name FROM customers"),
  q('parser', 'SELECT name FROM"customers"'),
  q('parser', "SELECT 1 FROM customers WHERE ssn = ANY(ARRAY['ZQ7SSN-EU-991'])"),
  // masking: answers the oracle compares value by value with the secure-view reference
  q('masking', 'SELECT id, email, ssn, phone, birth_date FROM customers ORDER BY id LIMIT 20'),
  q('masking', 'SELECT * FROM orders ORDER BY id LIMIT 50'),
  q(
    'masking',
    'SELECT c.id, c.ssn, o.card_number FROM customers c JOIN orders o ON o.customer_id = c.id ORDER BY o.id LIMIT 40',
  ),
  q('masking', 'SELECT email, count(*) FROM customers GROUP BY email ORDER BY 1'),
  q('masking', "SELECT id FROM customers WHERE ssn LIKE '0%' ORDER BY id"),
  q('masking', 'SELECT region, min(birth_date), max(birth_date) FROM customers GROUP BY region'),
  q('masking', 'SELECT row_to_json(c)::text FROM customers c WHERE id < 40'),
  q('masking', 'SELECT count(*), count(DISTINCT ssn), count(DISTINCT email), count(DISTINCT phone) FROM customers'),
  q('masking', 'SELECT phone FROM customers UNION SELECT card_number FROM orders ORDER BY 1'),
  q(
    'masking',
    'SELECT o.status, count(*), sum(o.amount) FROM orders o WHERE o.customer_id IN (SELECT id FROM customers) GROUP BY 1',
  ),
  q('masking', 'SELECT id, rank() OVER (ORDER BY ssn) FROM customers ORDER BY id LIMIT 30'),
  q('masking', 'SELECT count(*) FROM customers a JOIN customers b ON a.email = b.email AND a.id < b.id'),
  q(
    'masking',
    "SELECT left(ssn, 8), right(phone, 4), split_part(email, '@', 2) FROM customers WHERE id BETWEEN 3 AND 60",
  ),
  q(
    'masking',
    'SELECT birth_date, count(*) FROM customers GROUP BY birth_date HAVING count(*) > 1 ORDER BY birth_date',
  ),
  q('masking', 'SELECT extract(year FROM birth_date) AS y, count(*) FROM customers GROUP BY y ORDER BY y'),
  q('masking', "SELECT id FROM customers WHERE birth_date > '1990-06-15' ORDER BY id"),
  q('masking', "SELECT id, email FROM customers WHERE email = 'customer6@example.com'"),
  q('masking', "SELECT id FROM customers WHERE phone LIKE '%0111'"),
  q('masking', 'SELECT md5(ssn), md5(email) FROM customers WHERE id < 30'),
  q('masking', "SELECT string_agg(ssn, ',' ORDER BY id) FROM customers WHERE id < 50"),
  q('masking', 'SELECT jsonb_agg(c ORDER BY c.id)::text FROM (SELECT id, email, ssn FROM customers WHERE id < 20) c'),
  q(
    'masking',
    'SELECT c.id, o.id, o.card_number FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE c.id < 30 ORDER BY c.id, o.id',
  ),
  q(
    'masking',
    "SELECT EXISTS (SELECT 1 FROM customers WHERE region = 'US'), (SELECT count(*) FROM customers WHERE id = 1)",
  ),
  q(
    'masking',
    'SELECT id, ssn = (SELECT ssn FROM customers WHERE id = 3) FROM customers WHERE id IN (3, 6) ORDER BY id',
  ),
  q('masking', 'SELECT region, count(*) FROM customers GROUP BY ROLLUP (region) ORDER BY 1'),
  q('masking', 'SELECT length(ssn), length(email), length(phone) FROM customers WHERE id = 3'),
  q('masking', "SELECT * FROM orders o WHERE o.card_number LIKE '%9999' ORDER BY id"),
  q(
    'masking',
    "SELECT id FROM customers WHERE id = ANY (SELECT customer_id FROM orders WHERE card_number LIKE '4111%')",
  ),
  q('masking', 'SELECT DISTINCT substr(email, 2, 5) FROM customers'),
  q('masking', 'SELECT id, lower(email), upper(ssn) FROM customers WHERE id < 20 ORDER BY id'),
  q(
    'masking',
    'BEGIN; DECLARE k CURSOR FOR SELECT id, ssn, email FROM customers ORDER BY id; FETCH 5 FROM k; FETCH 5 FROM k; COMMIT',
  ),
  q('masking', "SELECT count(*) FILTER (WHERE ssn < '8'), count(*) FILTER (WHERE email LIKE 'c%') FROM customers"),
  q('masking', 'VALUES ((SELECT max(phone) FROM customers), (SELECT min(card_number) FROM orders))'),
  q(
    'masking',
    'SELECT c.id FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id) ORDER BY 1',
  ),
  q(
    'masking',
    'SELECT o.customer_id, c.region, c.phone FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE o.id <= 12 ORDER BY o.id',
  ),
  q('masking', "SELECT to_char(birth_date, 'YYYY-MM-DD'), date_part('month', birth_date) FROM customers WHERE id < 40"),
  // a data product's own views (test/support/view-fixtures.ts), expanded; the reference reads the
  // same views written over the secure views (REFERENCE_VIEW_SQL), found first on its search_path
  q('view', 'SELECT * FROM customer_contacts ORDER BY id'),
  q('view', 'SELECT c FROM customer_contacts c WHERE id IN (1, 2, 3) ORDER BY id'),
  q('view', 'SELECT row_to_json(v) FROM eu_contacts v WHERE v.id < 20 ORDER BY v.id'),
  q('view', 'SELECT customer, mail FROM contact_names ORDER BY customer, mail'),
  q('view', "SELECT x.a, x.mail FROM contact_names AS x(a) WHERE x.a LIKE 'Z%'"),
  q('view', "SELECT count(*) FROM customer_contacts WHERE 1 / (CASE WHEN region = 'US' THEN 0 ELSE 1 END) = 1"),
  q('view', "SELECT id, ssn FROM eu_contacts WHERE ssn LIKE '%-%' OR email LIKE 'zq%'"),
  q('view', 'SELECT id FROM eu_contacts WHERE id IN (1, 2, 3)'),
  q('view', 'SELECT first_id, second_id, ssn FROM shared_ssn WHERE first_id < 40 ORDER BY first_id, second_id'),
  q('view', 'SELECT id, card_number, email FROM order_cards WHERE id < 10 ORDER BY id'),
  q('view', "SELECT count(*) FROM order_cards WHERE card_number LIKE '%9999' OR email LIKE 'zq7%'"),
  q('view', 'SELECT s.ssn FROM customer_contacts s JOIN customers c ON c.ssn = s.ssn WHERE c.id IN (1, 2, 3)'),
  q('view', 'WITH customers AS (SELECT 1 AS id) SELECT name FROM customer_contacts ORDER BY name LIMIT 5'),
  q('view', 'SELECT id, visitor_email FROM visit_emails ORDER BY id'),
  q('view', 'SELECT id, visitor_email FROM us_visit_emails ORDER BY id'),
  q('view', 'SELECT * FROM visits_us ORDER BY id'),
  q('view', 'SELECT id, ssn FROM customer_ssn_copy WHERE id IN (1, 2, 3) ORDER BY id'),
  q('view', 'COPY customer_contacts TO STDOUT', undefined, ref('COPY (SELECT * FROM customer_contacts) TO STDOUT')),
  q('view', 'SELECT id FROM customer_contacts TABLESAMPLE SYSTEM (100)', '42809'),
  q('view', 'EXPLAIN SELECT * FROM customer_contacts', '42501'),
  // answers that differ from run to run, or between sessions: checked for canaries only
  q(
    'masking',
    'SELECT email, ssn FROM customers ORDER BY random() LIMIT 3',
    undefined,
    exclude('random() picks different rows in every run'),
  ),
  q(
    'masking',
    'SELECT name, ssn FROM customers LIMIT 5',
    undefined,
    exclude('LIMIT without ORDER BY: which rows come back is up to each plan'),
  ),
  q(
    'masking',
    'SELECT ssn, phone FROM customers TABLESAMPLE BERNOULLI (20)',
    undefined,
    exclude('TABLESAMPLE BERNOULLI samples different rows in every run'),
  ),
  q(
    'masking',
    'SELECT pg_backend_pid(), now(), count(ssn) FROM customers',
    undefined,
    exclude('backend pid and transaction time differ between the two sessions'),
  ),
];
