/**
 * The TPC-H schema (in schema `tpch`) with a small deterministic data set, generated in SQL (loads in
 * well under a second).
 */
export const TPCH_SQL = `
CREATE SCHEMA tpch;
SET search_path = tpch;
CREATE TABLE region (r_regionkey int PRIMARY KEY, r_name char(25), r_comment varchar(152));
CREATE TABLE nation (n_nationkey int PRIMARY KEY, n_name char(25), n_regionkey int, n_comment varchar(152));
CREATE TABLE part (p_partkey int PRIMARY KEY, p_name varchar(55), p_mfgr char(25), p_brand char(10), p_type varchar(25), p_size int, p_container char(10), p_retailprice numeric(15,2), p_comment varchar(23));
CREATE TABLE supplier (s_suppkey int PRIMARY KEY, s_name char(25), s_address varchar(40), s_nationkey int, s_phone char(15), s_acctbal numeric(15,2), s_comment varchar(101));
CREATE TABLE partsupp (ps_partkey int, ps_suppkey int, ps_availqty int, ps_supplycost numeric(15,2), ps_comment varchar(199), PRIMARY KEY (ps_partkey, ps_suppkey));
CREATE TABLE customer (c_custkey int PRIMARY KEY, c_name varchar(25), c_address varchar(40), c_nationkey int, c_phone char(15), c_acctbal numeric(15,2), c_mktsegment char(10), c_comment varchar(117));
CREATE TABLE orders (o_orderkey int PRIMARY KEY, o_custkey int, o_orderstatus char(1), o_totalprice numeric(15,2), o_orderdate date, o_orderpriority char(15), o_clerk char(15), o_shippriority int, o_comment varchar(79));
CREATE TABLE lineitem (l_orderkey int, l_partkey int, l_suppkey int, l_linenumber int, l_quantity numeric(15,2), l_extendedprice numeric(15,2), l_discount numeric(15,2), l_tax numeric(15,2), l_returnflag char(1), l_linestatus char(1), l_shipdate date, l_commitdate date, l_receiptdate date, l_shipinstruct char(25), l_shipmode char(10), l_comment varchar(44), PRIMARY KEY (l_orderkey, l_linenumber));
INSERT INTO region SELECT i, (ARRAY['AFRICA','AMERICA','ASIA','EUROPE','MIDDLE EAST'])[i + 1], 'region ' || i FROM generate_series(0, 4) i;
INSERT INTO nation SELECT i, (ARRAY['ALGERIA','ARGENTINA','BRAZIL','CANADA','EGYPT','ETHIOPIA','FRANCE','GERMANY','INDIA','INDONESIA','IRAN','IRAQ','JAPAN','JORDAN','KENYA','MOROCCO','MOZAMBIQUE','PERU','CHINA','ROMANIA','SAUDI ARABIA','VIETNAM','RUSSIA','UNITED KINGDOM','UNITED STATES'])[i + 1], i % 5, 'nation ' || i FROM generate_series(0, 24) i;
INSERT INTO part SELECT i, 'part ' || (ARRAY['green','forest','red','blue'])[1 + i % 4] || ' ' || i, 'Manufacturer#' || (1 + i % 5), 'Brand#' || (1 + i % 5) || (1 + i % 4),
  (ARRAY['STANDARD POLISHED BRASS','PROMO BURNISHED COPPER','ECONOMY ANODIZED STEEL','MEDIUM PLATED BRASS','LARGE BRUSHED TIN'])[1 + i % 5], 1 + i % 50,
  (ARRAY['SM CASE','MED BOX','LG PACK','JUMBO PKG','SM PKG','MED BAG','LG CASE','WRAP BOX'])[1 + i % 8], 900 + i, 'part comment' FROM generate_series(1, 60) i;
INSERT INTO supplier SELECT i, 'Supplier#' || i, 'address ' || i, i % 25, '10-' || lpad(i::text, 3, '0') || '-000-0000', (i * 137 % 10000) - 999, CASE WHEN i % 7 = 0 THEN 'Customer Complaints noted' ELSE 'fine supplier' END FROM generate_series(1, 20) i;
INSERT INTO partsupp SELECT p, 1 + (p + k * 5) % 20, 100 * k + p, 10 + (p * k) % 90, 'ps comment' FROM generate_series(1, 60) p, generate_series(0, 3) k;
INSERT INTO customer SELECT i, 'Customer#' || i, 'caddress ' || i, i % 25, (10 + i % 25) || '-' || lpad(i::text, 3, '0') || '-000-0000', (i * 271 % 10000) - 999, (ARRAY['BUILDING','AUTOMOBILE','MACHINERY','HOUSEHOLD','FURNITURE'])[1 + i % 5], 'customer comment' FROM generate_series(1, 150) i;
INSERT INTO orders SELECT i, 1 + (i * 7) % 150, (ARRAY['O','F','P'])[1 + i % 3], 1000 + i * 3, date '1992-01-01' + (i * 13 % 2400), (ARRAY['1-URGENT','2-HIGH','3-MEDIUM','4-NOT SPECIFIED','5-LOW'])[1 + i % 5], 'Clerk#' || (i % 20), 0, CASE WHEN i % 11 = 0 THEN 'special requests' ELSE 'plain' END FROM generate_series(1, 600) i;
INSERT INTO lineitem SELECT o, 1 + (o * l) % 60, 1 + (o + l * 5) % 20, l, 1 + (o * l) % 50, 100 + (o * l) % 9000, ((o + l) % 10) / 100.0, ((o * l) % 8) / 100.0, (ARRAY['R','A','N'])[1 + (o + l) % 3], (ARRAY['O','F'])[1 + o % 2],
  date '1992-01-02' + ((o * 13) % 2400) + l * 3, date '1992-01-02' + ((o * 13) % 2400) + l * 4, date '1992-01-02' + ((o * 13) % 2400) + l * 5,
  (ARRAY['DELIVER IN PERSON','COLLECT COD','NONE','TAKE BACK RETURN'])[1 + l % 4], (ARRAY['MAIL','SHIP','AIR','AIR REG','TRUCK','RAIL','FOB'])[1 + (o + l) % 7], 'li comment'
  FROM generate_series(1, 600) o, generate_series(1, 4) l;
ANALYZE;
RESET search_path;
`;
