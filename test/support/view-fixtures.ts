/**
 * A data product's own reporting layer over the demo tables: nested views, renamed columns, a
 * security_barrier view WITH CHECK OPTION, a self-join, a view over a partitioned table and one over
 * a partition, and a tagged materialized view. Run after the demo data (and its canaries).
 */
export const VIEW_SQL = `
CREATE VIEW public.customer_contacts AS SELECT id, name, email, ssn, region FROM public.customers;
CREATE VIEW public.contact_names (customer, mail) AS SELECT name, email FROM public.customer_contacts;
CREATE VIEW public.eu_contacts WITH (security_barrier) AS
  SELECT id, email, ssn FROM public.customer_contacts WHERE region = 'EU' WITH CASCADED CHECK OPTION;
CREATE VIEW public.shared_ssn AS
  SELECT a.id AS first_id, b.id AS second_id, a.ssn FROM public.customers a JOIN public.customers b ON a.ssn = b.ssn AND a.id <= b.id;
CREATE VIEW public.order_cards AS
  SELECT o.id, o.card_number, c.email FROM public.orders o JOIN public.customers c ON c.id = o.customer_id;
CREATE TABLE public.visits (id integer NOT NULL, region text NOT NULL, visitor_email text NOT NULL) PARTITION BY LIST (region);
COMMENT ON COLUMN public.visits.visitor_email IS 'pgveil:tags=pii.email';
CREATE TABLE public.visits_eu PARTITION OF public.visits FOR VALUES IN ('EU');
CREATE TABLE public.visits_us PARTITION OF public.visits FOR VALUES IN ('US');
INSERT INTO public.visits SELECT id, region, email FROM public.customers WHERE id <= 12 AND region IN ('EU', 'US');
CREATE VIEW public.visit_emails AS SELECT id, visitor_email FROM public.visits;
CREATE VIEW public.us_visit_emails AS SELECT id, visitor_email FROM public.visits_us;
CREATE MATERIALIZED VIEW public.customer_ssn_copy AS SELECT id, ssn FROM public.customers;
COMMENT ON COLUMN public.customer_ssn_copy.ssn IS 'pgveil:tags=pii.ssn';
`;

/**
 * The same views for the leak oracle's reference session (search_path reference, public): written
 * over the secure views of test/adversarial/oracle.ts, with the demo policy's masks on the tables
 * VIEW_SQL adds. Run after REFERENCE_VIEWS.
 */
const maskEmail = (c: string): string =>
  `CASE WHEN ${c} IS NULL THEN NULL WHEN strpos(${c}, '@') <= 1 THEN repeat('*', length(${c})) ELSE concat(left(${c}, 1), repeat('*', strpos(${c}, '@') - 2), substr(${c}, strpos(${c}, '@'))) END`;

export const REFERENCE_VIEW_SQL = `
CREATE VIEW reference.customer_contacts AS SELECT id, name, email, ssn, region FROM reference.customers;
CREATE VIEW reference.contact_names (customer, mail) AS SELECT name, email FROM reference.customer_contacts;
CREATE VIEW reference.eu_contacts WITH (security_barrier) AS
  SELECT id, email, ssn FROM reference.customer_contacts WHERE region = 'EU' WITH CASCADED CHECK OPTION;
CREATE VIEW reference.shared_ssn AS
  SELECT a.id AS first_id, b.id AS second_id, a.ssn FROM reference.customers a JOIN reference.customers b ON a.ssn = b.ssn AND a.id <= b.id;
CREATE VIEW reference.order_cards AS
  SELECT o.id, o.card_number, c.email FROM reference.orders o JOIN reference.customers c ON c.id = o.customer_id;
CREATE VIEW reference.visits_us WITH (security_barrier) AS SELECT id, region, ${maskEmail('visitor_email')} AS visitor_email FROM public.visits_us;
CREATE VIEW reference.visits WITH (security_barrier) AS SELECT id, region, ${maskEmail('visitor_email')} AS visitor_email FROM public.visits;
CREATE VIEW reference.visit_emails AS SELECT id, visitor_email FROM reference.visits;
CREATE VIEW reference.us_visit_emails AS SELECT id, visitor_email FROM reference.visits_us;
CREATE VIEW reference.customer_ssn_copy WITH (security_barrier) AS
  SELECT id, CASE WHEN ssn IS NULL THEN NULL ELSE pgveil.keyed_hash(ssn) END AS ssn FROM public.customer_ssn_copy;
`;
