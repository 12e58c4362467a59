/**
 * The demo data product: `customers` (about 1,000 rows) and `orders` referencing it, generated
 * deterministically in SQL so the demo, the docs and the tests see the same values. Column comments
 * carry tags (`pgveil:tags=...`), the convention a domain team uses to tag its own columns.
 */
const DEMO_CUSTOMER_COUNT = 1000;

export const demoSchemaSql = `
CREATE TABLE public.customers (
  id          integer PRIMARY KEY,
  name        text NOT NULL,
  email       text NOT NULL,
  ssn         text NOT NULL,
  phone       text NOT NULL,
  region      text NOT NULL,
  birth_date  date NOT NULL,
  created_at  timestamptz NOT NULL
);
COMMENT ON COLUMN public.customers.email IS 'pgveil:tags=pii.email';
COMMENT ON COLUMN public.customers.ssn IS 'pgveil:tags=pii.ssn';
COMMENT ON COLUMN public.customers.phone IS 'pgveil:tags=pii.phone';
COMMENT ON COLUMN public.customers.birth_date IS 'pgveil:tags=pii.birth_date';
CREATE INDEX customers_region_idx ON public.customers (region);

CREATE TABLE public.orders (
  id           integer PRIMARY KEY,
  customer_id  integer NOT NULL REFERENCES public.customers (id),
  ordered_at   timestamptz NOT NULL,
  amount       numeric(10, 2) NOT NULL,
  card_number  text NOT NULL,
  status       text NOT NULL
);
COMMENT ON COLUMN public.orders.card_number IS 'pgveil:tags=finance.card';
CREATE INDEX orders_customer_idx ON public.orders (customer_id);

INSERT INTO public.customers
SELECT i,
       (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken','Radia','Tim'])[1 + i % 10]
         || ' ' ||
       (ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Thompson','Perlman','Berners'])[1 + (i / 10) % 10],
       'customer' || i || '@example.com',
       lpad(((i * 7919) % 1000)::text, 3, '0') || '-' || lpad((i % 100)::text, 2, '0') || '-' || lpad((i * 31 % 10000)::text, 4, '0'),
       '+1-555-' || lpad((i * 37 % 10000)::text, 4, '0'),
       (ARRAY['EU','US','APAC'])[1 + i % 3],
       date '1950-01-01' + (i * 17 % 18000),
       timestamptz '2024-01-01 00:00:00+00' + make_interval(hours => i)
FROM generate_series(1, ${DEMO_CUSTOMER_COUNT}) AS i;

INSERT INTO public.orders
SELECT i,
       1 + (i * 13 % ${DEMO_CUSTOMER_COUNT}),
       timestamptz '2024-06-01 00:00:00+00' + make_interval(mins => i * 7),
       round(((i * 7907 % 100000) / 100.0)::numeric, 2),
       '4111-1111-' || lpad((i % 10000)::text, 4, '0') || '-' || lpad((i * 3 % 10000)::text, 4, '0'),
       (ARRAY['placed','shipped','delivered','returned'])[1 + i % 4]
FROM generate_series(1, ${DEMO_CUSTOMER_COUNT * 3}) AS i;

ANALYZE public.customers;
ANALYZE public.orders;
`;
