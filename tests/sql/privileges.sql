-- privileges: roles, ownership, GRANT / REVOKE, permission denied for non-owners
CREATE ROLE alice LOGIN;
CREATE ROLE bob LOGIN;
CREATE ROLE alice;
CREATE ROLE public;
CREATE ROLE none;
CREATE ROLE pg_mine;
SELECT name, superuser, login, create_db, create_role FROM cowcat_catalog.roles ORDER BY name;
CREATE TABLE cowcat_t (a int);
CREATE VIEW cowcat_v AS SELECT a FROM cowcat_t;
CREATE SCHEMA app;
-- alice owns nothing and may create nothing yet
\c - alice
SELECT current_user, session_user;
CREATE TABLE alice_t (a int);
CREATE TABLE app.alice_t (a int);
CREATE SCHEMA alice_s;
CREATE ROLE carol;
CREATE DATABASE alice_db;
DROP TABLE cowcat_t;
DROP VIEW cowcat_v;
ALTER TABLE cowcat_t ADD COLUMN b int;
ALTER TABLE cowcat_t RENAME TO mine;
COMMENT ON TABLE cowcat_t IS 'mine';
DROP SCHEMA app;
ALTER SYSTEM SET max_tables = 10;
-- the owner grants
\c - cowcat
GRANT CREATE ON SCHEMA public TO alice;
GRANT USAGE ON SCHEMA app TO bob;
GRANT CREATE ON SCHEMA nosuch TO alice;
GRANT CREATE ON SCHEMA public TO nosuch;
\c - alice
CREATE TABLE alice_t (a int);
CREATE VIEW alice_v AS SELECT a FROM alice_t;
CREATE TABLE app.alice_t (a int);
SELECT name, owner FROM cowcat_catalog.objects WHERE schema = 'public' ORDER BY name;
-- bob may not touch alice's objects
\c - bob
DROP TABLE alice_t;
GRANT SELECT ON alice_t TO bob;
CREATE TABLE bob_t (a int);
\c - alice
GRANT SELECT, INSERT ON alice_t TO bob;
GRANT SELECT ON alice_t TO nosuch;
GRANT SELECT ON nosuch TO bob;
GRANT EXECUTE ON alice_t TO bob;
GRANT ALL ON alice_t TO PUBLIC;
REVOKE INSERT ON alice_t FROM bob;
REVOKE ALL ON alice_t FROM PUBLIC;
REVOKE SELECT ON alice_t FROM bob;
-- ownership changes
ALTER TABLE alice_t OWNER TO bob;
\c - cowcat
REVOKE CREATE ON SCHEMA public FROM alice;
ALTER TABLE alice_t OWNER TO bob;
\c - cowcat_system
ALTER TABLE alice_t OWNER TO bob;
ALTER TABLE alice_t OWNER TO nosuch;
SELECT name, owner FROM cowcat_catalog.tables ORDER BY name;
-- roles that own objects cannot be dropped
DROP ROLE bob;
DROP ROLE alice;
\c - cowcat
DROP ROLE cowcat;
DROP ROLE cowcat_system;
ALTER ROLE cowcat_system RENAME TO sys;
-- system schemas belong to the system
DROP SCHEMA information_schema;
\c - cowcat_system
DROP VIEW alice_v;
DROP TABLE alice_t;
DROP ROLE alice, bob;
DROP ROLE IF EXISTS alice;
SELECT name FROM cowcat_catalog.roles ORDER BY name;
-- a role that does not exist cannot connect (psql -f would stop here)
\c - nosuchrole
SELECT current_user;
