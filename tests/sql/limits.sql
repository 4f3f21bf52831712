-- limits: ALTER SYSTEM SET max_* (superuser only); creates over a limit fail with 53400
SELECT name, value FROM cowcat_catalog.limits ORDER BY name;
ALTER SYSTEM SET max_tables = 2;
\c - cowcat_system
ALTER SYSTEM SET max_tables = 2;
ALTER SYSTEM SET max_views = 1;
ALTER SYSTEM SET max_indexes = 1;
ALTER SYSTEM SET max_nosuch = 1;
ALTER SYSTEM SET max_tables = 'many';
ALTER SYSTEM SET max_tables = -1;
ALTER SYSTEM SET max_tables TO 2;
SELECT name, value, current FROM cowcat_catalog.limits
  WHERE name IN ('max_tables', 'max_views', 'max_indexes') ORDER BY name;
\c - cowcat
CREATE TABLE t1 (a int);
CREATE TABLE t2 (a int);
CREATE TABLE t3 (a int);
CREATE TABLE IF NOT EXISTS t2 (a int);
DROP TABLE t2;
CREATE TABLE t3 (a int);
CREATE VIEW v1 AS SELECT a FROM t1;
CREATE VIEW v2 AS SELECT a FROM t1;
CREATE MATERIALIZED VIEW mv1 AS SELECT a FROM t1;
CREATE INDEX i1 ON t1 (a);
CREATE INDEX i2 ON t3 (a);
SELECT kind, name FROM cowcat_catalog.objects WHERE schema = 'public' ORDER BY kind, name;
-- a block over the limit fails as a whole
DROP TABLE t3;
BEGIN;
CREATE TABLE t4 (a int);
CREATE TABLE t5 (a int);
COMMIT;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
-- the same as one string of statements
CREATE TABLE t6 (a int)\; CREATE TABLE t7 (a int);
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
-- dropping and creating in one block stays within the limit
CREATE TABLE t8 (a int);
BEGIN;
DROP TABLE t8;
CREATE TABLE t9 (a int);
COMMIT;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
-- per-schema and per-database limits
\c - cowcat_system
ALTER SYSTEM SET max_objects_per_schema = 2;
ALTER SYSTEM SET max_schemas_per_database = 2;
ALTER SYSTEM RESET max_tables;
\c - cowcat
CREATE SCHEMA s1;
CREATE SCHEMA s2;
CREATE TABLE s1.a (x int);
CREATE TABLE s1.b (x int);
CREATE TABLE s1.c (x int);
CREATE TABLE public.c (x int);
-- lowering a limit below the current count keeps what exists
\c - cowcat_system
ALTER SYSTEM SET max_roles = 1;
\c - cowcat
CREATE ROLE r1;
SELECT name, value FROM cowcat_catalog.limits
  WHERE name IN ('max_tables', 'max_objects_per_schema', 'max_schemas_per_database', 'max_roles')
  ORDER BY name;
\c - cowcat_system
ALTER SYSTEM RESET max_roles;
ALTER SYSTEM RESET max_objects_per_schema;
\c - cowcat
CREATE ROLE r1;
CREATE TABLE s1.c (x int);
