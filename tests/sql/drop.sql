-- drop: RESTRICT (the default) and CASCADE, IF EXISTS, several names, dependency chains
CREATE TABLE a (id int PRIMARY KEY, x int, y text);
CREATE TABLE b (id int REFERENCES a (id), z int);
CREATE VIEW va AS SELECT id, x FROM a;
CREATE VIEW vva AS SELECT id FROM va;
CREATE VIEW vy AS SELECT y FROM a;
CREATE INDEX a_x_idx ON a (x);
SELECT object, referenced FROM cowcat_catalog.dependencies ORDER BY object, referenced;
-- RESTRICT refuses while something depends on the object
DROP TABLE a;
DROP TABLE a RESTRICT;
DROP VIEW va;
ALTER TABLE a DROP COLUMN x;
ALTER TABLE a DROP COLUMN y RESTRICT;
ALTER TABLE a DROP COLUMN id;
-- what is not there
DROP TABLE nosuch;
DROP TABLE IF EXISTS nosuch;
DROP TABLE IF EXISTS nosuch, alsonot;
DROP TABLE nosuchschema.t;
DROP TABLE IF EXISTS nosuchschema.t;
DROP VIEW IF EXISTS nosuch CASCADE;
DROP INDEX nosuch;
DROP SCHEMA nosuch;
DROP ROLE nosuch;
DROP ROLE IF EXISTS nosuch;
DROP DATABASE nosuch;
DROP DATABASE IF EXISTS nosuch;
-- wrong kinds
DROP VIEW a;
DROP TABLE va;
DROP MATERIALIZED VIEW va;
DROP INDEX a;
DROP TABLE a_x_idx;
-- a failing name in a list drops nothing
DROP VIEW vy, nosuch;
SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY table_name;
-- CASCADE drops the dependents (and theirs)
ALTER TABLE a DROP COLUMN y CASCADE;
DROP VIEW va CASCADE;
SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY table_name;
CREATE VIEW va AS SELECT id, x FROM a;
CREATE VIEW vva AS SELECT id FROM va;
DROP TABLE a CASCADE;
SELECT kind, name FROM cowcat_catalog.objects WHERE schema = 'public' ORDER BY kind, name;
SELECT constraint_name, constraint_type FROM information_schema.table_constraints
  WHERE table_name = 'b' AND constraint_name NOT LIKE '%not_null' ORDER BY constraint_name;
-- several tables in one statement
CREATE TABLE c (a int);
CREATE TABLE d (a int);
CREATE VIEW vcd AS SELECT c.a FROM c, d;
DROP TABLE c, d;
DROP TABLE c, d CASCADE;
-- schemas and databases
CREATE SCHEMA sch;
CREATE TABLE sch.t (a int);
CREATE VIEW sch.v AS SELECT a FROM sch.t;
CREATE VIEW pv AS SELECT a FROM sch.t;
DROP SCHEMA sch;
DROP SCHEMA sch CASCADE;
SELECT kind, name FROM cowcat_catalog.objects WHERE schema IN ('public', 'sch') ORDER BY kind, name;
CREATE DATABASE otherdb;
DROP DATABASE otherdb;
DROP DATABASE cowcat;
SELECT name FROM cowcat_catalog.databases ORDER BY name;
