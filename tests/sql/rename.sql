-- rename: tables, columns, views, indexes, schemas, roles; dependents follow
CREATE TABLE t (a int, b text);
CREATE VIEW v AS SELECT a, b FROM t;
CREATE INDEX t_a_idx ON t (a);
ALTER TABLE t RENAME TO t2;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
SELECT view_definition FROM information_schema.views WHERE table_name = 'v';
SELECT name, table_name FROM cowcat_catalog.indexes ORDER BY name;
ALTER TABLE t RENAME TO t3;
ALTER TABLE IF EXISTS t RENAME TO t3;
ALTER TABLE t2 RENAME TO v;
ALTER TABLE t2 RENAME TO t2;
-- columns (a view that reads the column keeps working: its stored SQL is rewritten)
ALTER TABLE t2 RENAME COLUMN a TO aa;
ALTER TABLE t2 RENAME COLUMN nosuch TO c;
CREATE TABLE r (a int, b text);
CREATE INDEX r_a_idx ON r (a);
ALTER TABLE r RENAME COLUMN a TO aa;
ALTER TABLE r RENAME a TO aaa;
ALTER TABLE r RENAME COLUMN aa TO b;
SELECT column_name FROM information_schema.columns WHERE table_name = 'r' ORDER BY ordinal_position;
DROP TABLE r;
SELECT column_name FROM information_schema.columns WHERE table_name = 't2' ORDER BY ordinal_position;
SELECT column_name FROM information_schema.columns WHERE table_name = 'v' ORDER BY ordinal_position;
SELECT view_definition FROM information_schema.views WHERE table_name = 'v';
-- views and indexes
ALTER VIEW v RENAME TO v2;
ALTER VIEW nosuch RENAME TO v3;
ALTER VIEW t2 RENAME TO v3;
ALTER TABLE v2 RENAME TO v3;
ALTER INDEX t_a_idx RENAME TO t2_aa_idx;
ALTER INDEX nosuch RENAME TO x;
SELECT kind, name FROM cowcat_catalog.objects WHERE schema = 'public' ORDER BY kind, name;
ALTER VIEW v3 RENAME COLUMN a TO first;
SELECT column_name FROM information_schema.columns WHERE table_name = 'v3' ORDER BY ordinal_position;
-- schemas
CREATE SCHEMA s;
CREATE TABLE s.st (a int);
CREATE VIEW pv AS SELECT a FROM s.st;
ALTER SCHEMA s RENAME TO s2;
ALTER SCHEMA s RENAME TO s3;
ALTER SCHEMA s2 RENAME TO public;
ALTER SCHEMA s2 RENAME TO pg_s;
SELECT table_schema, table_name FROM information_schema.tables
  WHERE table_schema IN ('s', 's2') ORDER BY 1, 2;
SELECT view_definition FROM information_schema.views WHERE table_name = 'pv';
-- roles and databases
CREATE ROLE r1;
ALTER ROLE r1 RENAME TO r2;
ALTER ROLE r1 RENAME TO r3;
ALTER ROLE r2 RENAME TO cowcat;
SELECT name FROM cowcat_catalog.roles WHERE name LIKE 'r%' ORDER BY name;
CREATE DATABASE db1;
ALTER DATABASE db1 RENAME TO db2;
ALTER DATABASE db1 RENAME TO db3;
SELECT name FROM cowcat_catalog.databases ORDER BY name;
