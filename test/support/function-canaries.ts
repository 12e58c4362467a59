/**
 * Planted upstream functions that leak: each selects the raw SSN of customers the analyst may not
 * see (the demo's analyst sees EU rows, SSN hashed). Run as superuser after the demo data; used by
 * the rewriter's function tests and by the tests through the real proxy.
 */
export const FUNCTION_CANARIES_SQL = `
CREATE FUNCTION public.leak_ssn(customer_id integer) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT ssn FROM public.customers WHERE id = customer_id $$;
CREATE FUNCTION public.leak_ssns() RETURNS SETOF text LANGUAGE sql STABLE
  AS $$ SELECT ssn FROM public.customers ORDER BY id $$;
CREATE FUNCTION public.safe_double(x integer) RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT x * 2 $$;
CREATE FUNCTION public.leak_match(a text, b text) RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT EXISTS (SELECT 1 FROM public.customers WHERE ssn = a) $$;
CREATE OPERATOR public.=== (LEFTARG = text, RIGHTARG = text, FUNCTION = public.leak_match);
CREATE FUNCTION public.leak_varchar_eq(a varchar, b varchar) RETURNS boolean LANGUAGE sql STABLE
  AS $$ SELECT EXISTS (SELECT 1 FROM public.customers WHERE ssn = a) $$;
CREATE FUNCTION public.harmless_ne(a text, b text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT a <> b $$;
CREATE OPERATOR public.=/= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.harmless_ne, NEGATOR = ===);
CREATE SCHEMA lookalike;
CREATE OPERATOR lookalike.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = public.leak_varchar_eq);
CREATE SCHEMA other_schema;
CREATE FUNCTION other_schema.lower(t text) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT pg_catalog.string_agg(ssn, ',') FROM public.customers $$;
CREATE FUNCTION public.lower(t varchar) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT pg_catalog.string_agg(ssn, ',') FROM public.customers $$;
CREATE TYPE public.ssn_card AS (ssn text);
CREATE FUNCTION public.to_ssn_card(customer_id integer) RETURNS public.ssn_card LANGUAGE sql STABLE
  AS $$ SELECT ROW(ssn)::public.ssn_card FROM public.customers WHERE id = customer_id $$;
CREATE CAST (integer AS public.ssn_card) WITH FUNCTION public.to_ssn_card(integer);
CREATE DOMAIN public.checked_text AS text CHECK (public.leak_match(VALUE, VALUE) OR true);
CREATE DOMAIN public.checked_text_too AS public.checked_text;
CREATE FUNCTION public.echo(x text DEFAULT public.leak_ssn(2)) RETURNS text LANGUAGE sql STABLE AS $$ SELECT x $$;
CREATE FUNCTION public.pick_ssn(state text, value integer) RETURNS text LANGUAGE sql STABLE
  AS $$ SELECT ssn FROM public.customers WHERE id = value $$;
CREATE FUNCTION public.pick_ssn_final(state text, fraction float8, value integer) RETURNS text LANGUAGE sql STABLE AS $$ SELECT state $$;
CREATE AGGREGATE public.percentile_ssn(float8 ORDER BY integer) (SFUNC = public.pick_ssn, STYPE = text, FINALFUNC = public.pick_ssn_final, FINALFUNC_EXTRA);
CREATE TABLE public.notes (id integer PRIMARY KEY, body text NOT NULL);
INSERT INTO public.notes VALUES (1, 'one'), (2, 'two');
CREATE VIEW public.leaky_notes AS SELECT id, public.leak_ssn(id) AS ssn FROM public.notes;
CREATE VIEW public.leaky_notes_again AS SELECT id FROM public.leaky_notes;
CREATE VIEW public.plain_notes AS SELECT id, pg_catalog.upper(body) AS body FROM public.notes;
`;

/** Customer 2 is in region APAC (the analyst sees EU only); this is its raw SSN in the demo data. */
export const HIDDEN_CUSTOMER = 2;
export const HIDDEN_SSN = '838-02-0062';
