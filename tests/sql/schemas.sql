-- schemas: CREATE SCHEMA, objects in schemas, qualified names, search_path resolution
CREATE SCHEMA s1;
CREATE SCHEMA s1;
CREATE SCHEMA IF NOT EXISTS s1;
CREATE SCHEMA "S1";
CREATE SCHEMA s2 AUTHORIZATION cowcat;
CREATE SCHEMA s3 AUTHORIZATION nosuchrole;
CREATE SCHEMA pg_mine;
CREATE SCHEMA information_schema;
CREATE SCHEMA cowcat_catalog;
SELECT schema_name, schema_owner FROM information_schema.schemata ORDER BY schema_name;
SELECT name, owner FROM cowcat_catalog.schemas WHERE database = 'cowcat' ORDER BY name;
-- the same name in two schemas
CREATE TABLE s1.t (a int);
CREATE TABLE s2.t (b text);
CREATE TABLE t (c boolean);
CREATE TABLE s1.t (x int);
CREATE TABLE cowcat.s1.u (a int);
CREATE TABLE nosuchdb.s1.u (a int);
CREATE TABLE a.b.c.d (a int);
SELECT table_schema, table_name, column_name FROM information_schema.columns
  WHERE table_name = 't' ORDER BY table_schema, column_name;
CREATE VIEW s2.v AS SELECT a FROM s1.t;
CREATE VIEW s2.w AS SELECT b FROM t;
SET search_path = s2, public;
CREATE VIEW w AS SELECT b FROM t;
CREATE TABLE created_in_s2 (a int);
SELECT table_schema, table_name FROM information_schema.tables
  WHERE table_schema IN ('public', 's1', 's2') ORDER BY table_schema, table_name;
SET search_path = nosuch;
CREATE TABLE nowhere (a int);
CREATE TABLE s1.somewhere (a int);
SET search_path = "$user", public;
CREATE TABLE in_public (a int);
RESET search_path;
SHOW TABLES FROM s1;
SHOW TABLES FROM nosuch;
SHOW SCHEMAS;
-- creating in a system schema is not allowed
CREATE TABLE information_schema.mine (a int);
CREATE TABLE cowcat_catalog.mine (a int);
CREATE TABLE pg_catalog.mine (a int);
-- dropping schemas
DROP SCHEMA s1;
DROP SCHEMA "S1";
DROP SCHEMA "S1";
DROP SCHEMA IF EXISTS "S1";
DROP SCHEMA information_schema;
DROP SCHEMA s1 CASCADE;
DROP SCHEMA s2 CASCADE;
SELECT schema_name FROM information_schema.schemata ORDER BY schema_name;
SELECT table_schema, table_name FROM information_schema.tables
  WHERE table_schema NOT IN ('information_schema', 'cowcat_catalog', 'pg_catalog') ORDER BY 1, 2;
