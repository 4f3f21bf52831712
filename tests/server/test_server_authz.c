/*
 * tests/server/test_server_authz.c — the authorization matrix: who may do what,
 * checked against a real cowcatd over libpq.
 *
 * One server (SCRAM authentication: every role logs in with its own
 * password; the system role sets the first ones over the loopback internal
 * port, where it is trusted), one connection per actor, a fixed cast of
 * roles and objects:
 *
 *   cowcat_system  superuser (the system role; user port and internal port)
 *   cowcat         CREATEDB CREATEROLE, owns database cowcat, schemas public and c
 *   alice          owns schemas a, a2, database adb and, in a, one object of
 *                  every kind: enum type mood, table t (a commented column),
 *                  index t_m_idx, view v, materialized view mv
 *   bob            LOGIN and nothing else
 *   carol          USAGE on a, SELECT on a.t, USAGE on a.mood, CREATE+USAGE on
 *                  c (owns c.ct, c.cv) — all without grant option
 *   su2            a SUPERUSER role (target only)
 *
 * The matrix is a table of cells {actor, statement, expected outcome}, run in
 * order: a cell expects success (NULL), an error (its SQLSTATE and primary
 * message) or success with a WARNING (class 01: SQLSTATE and message). Cells
 * that succeed change the catalog, so destructive ones come in pairs (rename
 * and rename back) or at the end. After every cell that expects an error or a
 * warning, a fingerprint of the whole catalog (objects, columns, comments,
 * dependencies, roles, limits and the audit log, which records every committed
 * change including grants) must be unchanged. Every mismatching cell is
 * reported, not only the first.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server_fixture.h"

/* Who runs a cell: one open connection each. */
typedef enum actor {
    SU,     /* cowcat_system on the user port */
    SU_INT, /* cowcat_system on the internal port */
    COWCAT, /* cowcat */
    ALICE,  /* alice */
    BOB,    /* bob */
    CAROL,  /* carol */
    NACTOR
} actor;

static const char *const actor_user[NACTOR] = {"cowcat_system", "cowcat_system", "cowcat",
                                               "alice",         "bob",           "carol"};
static const char *const actor_name[NACTOR] = {
    "cowcat_system", "cowcat_system(internal)", "cowcat", "alice", "bob", "carol"};

/* One cell: state NULL is plain success; "01xxx" success with that WARNING; else an error. */
typedef struct cell {
    actor who;
    const char *sql;
    const char *state; /* expected SQLSTATE, or NULL */
    const char *msg;   /* expected primary message (with state) */
} cell;

#define OWN_T    "must be owner of table t"
#define OWN_V    "must be owner of view v"
#define OWN_MV   "must be owner of materialized view mv"
#define OWN_I    "must be owner of index t_m_idx"
#define OWN_TY   "must be owner of type mood"
#define OWN_A    "must be owner of schema a"
#define OWN_DB   "must be owner of database adb"
#define SU_ALTER "must be superuser to alter superuser roles or change superuser attribute"
#define SYS_ROLE "permission denied: role \"cowcat_system\" is a system object"
#define SYS_CAT  "permission denied: schema \"cowcat_catalog\" is a system object"
#define SYS_INFO "permission denied: schema \"information_schema\" is a system object"
#define NO_SET   "permission denied to set parameter \"max_tables\""

static const cell matrix[] = {
    /* --- bob: no privileges at all; every object of alice's, every way --- */
    {BOB, "DROP TABLE a.t", "42501", OWN_T},
    {BOB, "DROP TABLE a.t CASCADE", "42501", OWN_T},
    {BOB, "DROP VIEW a.v", "42501", OWN_V},
    {BOB, "DROP MATERIALIZED VIEW a.mv", "42501", OWN_MV},
    {BOB, "DROP INDEX a.t_m_idx", "42501", OWN_I},
    {BOB, "DROP TYPE a.mood", "42501", OWN_TY},
    {BOB, "DROP TYPE a.mood CASCADE", "42501", OWN_TY},
    {BOB, "DROP SCHEMA a", "42501", OWN_A},
    {BOB, "DROP SCHEMA a CASCADE", "42501", OWN_A},
    {BOB, "DROP DATABASE adb", "42501", OWN_DB},
    {BOB, "ALTER TABLE a.t ADD COLUMN z int", "42501", OWN_T},
    {BOB, "ALTER TABLE a.t DROP COLUMN m", "42501", OWN_T},
    {BOB, "ALTER TABLE a.t RENAME COLUMN id TO k", "42501", OWN_T},
    {BOB, "ALTER TABLE a.t RENAME TO t2", "42501", OWN_T},
    {BOB, "ALTER TABLE a.t SET SCHEMA a2", "42501", OWN_T},
    {BOB, "ALTER TABLE a.t OWNER TO bob", "42501", OWN_T},
    {BOB, "ALTER VIEW a.v RENAME TO v2", "42501", OWN_V},
    {BOB, "ALTER VIEW a.v RENAME COLUMN id TO k", "42501", OWN_V},
    {BOB, "ALTER VIEW a.v SET SCHEMA a2", "42501", OWN_V},
    {BOB, "ALTER VIEW a.v OWNER TO bob", "42501", OWN_V},
    /* CREATE in the schema is checked first, as in PostgreSQL */
    {BOB, "CREATE OR REPLACE VIEW a.v AS SELECT id, 1 AS x FROM a.t", "42501",
     "permission denied for schema a"},
    {BOB, "ALTER MATERIALIZED VIEW a.mv RENAME TO mv2", "42501", OWN_MV},
    {BOB, "ALTER MATERIALIZED VIEW a.mv SET SCHEMA a2", "42501", OWN_MV},
    {BOB, "ALTER MATERIALIZED VIEW a.mv OWNER TO bob", "42501", OWN_MV},
    {BOB, "ALTER INDEX a.t_m_idx RENAME TO i2", "42501", OWN_I},
    {BOB, "ALTER TYPE a.mood RENAME TO m2", "42501", OWN_TY},
    {BOB, "ALTER TYPE a.mood SET SCHEMA a2", "42501", OWN_TY},
    {BOB, "ALTER TYPE a.mood OWNER TO bob", "42501", OWN_TY},
    {BOB, "ALTER SCHEMA a RENAME TO a3", "42501", OWN_A},
    {BOB, "ALTER SCHEMA a OWNER TO bob", "42501", OWN_A},
    {BOB, "ALTER DATABASE adb RENAME TO adb2", "42501", OWN_DB},
    {BOB, "ALTER DATABASE adb OWNER TO bob", "42501", OWN_DB},
    {BOB, "COMMENT ON TABLE a.t IS 'x'", "42501", OWN_T},
    {BOB, "COMMENT ON VIEW a.v IS 'x'", "42501", OWN_V},
    {BOB, "COMMENT ON MATERIALIZED VIEW a.mv IS 'x'", "42501", OWN_MV},
    {BOB, "COMMENT ON INDEX a.t_m_idx IS 'x'", "42501", OWN_I},
    {BOB, "COMMENT ON TYPE a.mood IS 'x'", "42501", OWN_TY},
    {BOB, "COMMENT ON COLUMN a.t.id IS NULL", "42501", OWN_T},
    {BOB, "COMMENT ON SCHEMA a IS 'x'", "42501", OWN_A},
    {BOB, "COMMENT ON DATABASE adb IS 'x'", "42501", OWN_DB},
    {BOB, "COMMENT ON ROLE alice IS 'x'", "42501",
     "must have CREATEROLE privilege to comment on role"},
    {BOB, "COMMENT ON ROLE su2 IS 'x'", "42501", "must be superuser"},
    {BOB, "GRANT SELECT ON a.t TO bob", "42501", "permission denied for table t"},
    {BOB, "GRANT ALL ON a.v TO PUBLIC", "42501", "permission denied for view v"},
    {BOB, "GRANT USAGE ON SCHEMA a TO bob", "42501", "permission denied for schema a"},
    {BOB, "GRANT USAGE ON TYPE a.mood TO bob", "42501", "permission denied for type mood"},
    {BOB, "GRANT CONNECT ON DATABASE adb TO bob", "42501", "permission denied for database adb"},
    {BOB, "REVOKE SELECT ON a.t FROM carol", "42501", "permission denied for table t"},
    {BOB, "CREATE TABLE a.bt (x int)", "42501", "permission denied for schema a"},
    {BOB, "CREATE INDEX ON a.t (id)", "42501", OWN_T},
    {BOB, "CREATE VIEW a.bv AS SELECT 1 AS one", "42501", "permission denied for schema a"},
    {BOB, "CREATE MATERIALIZED VIEW a.bmv AS SELECT 1 AS one", "42501",
     "permission denied for schema a"},
    {BOB, "CREATE TYPE a.bty AS ENUM ('x')", "42501", "permission denied for schema a"},
    {BOB, "CREATE TABLE bt (x int)", "42501", "permission denied for schema public"},
    {BOB, "CREATE TABLE c.bt (x int)", "42501", "permission denied for schema c"},
    {BOB, "CREATE SCHEMA bs", "42501", "permission denied for database cowcat"},
    {BOB, "CREATE SCHEMA bs AUTHORIZATION bob", "42501", "permission denied for database cowcat"},
    {BOB, "CREATE DATABASE bdb", "42501", "permission denied to create database"},
    {BOB, "CREATE ROLE x", "42501", "permission denied to create role"},
    {BOB, "ALTER ROLE alice CREATEDB", "42501", "permission denied"},
    {BOB, "ALTER ROLE alice PASSWORD 'x'", "42501", "permission denied"},
    {BOB, "ALTER ROLE bob CREATEDB", "42501", "permission denied"},
    {BOB, "ALTER ROLE bob SUPERUSER", "42501", SU_ALTER},
    {BOB, "ALTER ROLE alice RENAME TO x", "42501", "permission denied to rename role"},
    {BOB, "ALTER ROLE su2 RENAME TO x", "42501", "must be superuser to rename superusers"},
    {BOB, "DROP ROLE alice", "42501", "permission denied to drop role"},
    {BOB, "DROP ROLE bob", "42501", "permission denied to drop role"},
    {BOB, "ALTER SYSTEM SET max_tables = 5", "42501", NO_SET},
    {BOB, "ALTER SYSTEM RESET max_tables", "42501", NO_SET},
    {BOB, "DROP TABLE c.ct", "42501", "must be owner of table ct"},
    {BOB, "DROP TABLE c.ct, a.t", "42501", "must be owner of table ct"},

    /* --- carol: some privileges on alice's objects, none with grant option --- */
    {CAROL, "DROP TABLE a.t", "42501", OWN_T},
    {CAROL, "ALTER TABLE a.t ADD COLUMN z int", "42501", OWN_T},
    {CAROL, "ALTER TABLE a.t RENAME TO t2", "42501", OWN_T},
    {CAROL, "COMMENT ON TABLE a.t IS 'x'", "42501", OWN_T},
    {CAROL, "DROP TYPE a.mood", "42501", OWN_TY},
    {CAROL, "ALTER SCHEMA a RENAME TO a3", "42501", OWN_A},
    {CAROL, "GRANT SELECT ON a.t TO bob", "01007", "no privileges were granted for \"t\""},
    {CAROL, "GRANT INSERT ON a.t TO bob", "01007", "no privileges were granted for \"t\""},
    {CAROL, "GRANT ALL ON a.t TO bob", "01007", "no privileges were granted for \"t\""},
    {CAROL, "REVOKE SELECT ON a.t FROM carol", "01006", "no privileges could be revoked for \"t\""},
    {CAROL, "GRANT SELECT ON a.t TO bob WITH GRANT OPTION", "0A000",
     "feature not supported: WITH GRANT OPTION"},
    {CAROL, "GRANT USAGE ON SCHEMA a TO bob", "01007", "no privileges were granted for \"a\""},
    {CAROL, "GRANT CREATE ON SCHEMA c TO bob", "01007", "no privileges were granted for \"c\""},
    {CAROL, "REVOKE CREATE ON SCHEMA c FROM carol", "01006",
     "no privileges could be revoked for \"c\""},
    {CAROL, "GRANT USAGE ON TYPE a.mood TO bob", "01007",
     "no privileges were granted for \"mood\""},
    {CAROL, "GRANT SELECT ON a.v TO bob", "42501", "permission denied for view v"},
    {CAROL, "GRANT SELECT ON a.t, a.v TO bob", "42501", "permission denied for view v"},
    {CAROL, "CREATE TABLE a.ct (x int)", "42501", "permission denied for schema a"},
    {CAROL, "CREATE TABLE public.x (x int)", "42501", "permission denied for schema public"},
    /* a denied statement in a string of several undoes the ones before it */
    {CAROL, "CREATE TABLE c.ct2 (x int); DROP TABLE a.t", "42501", OWN_T},
    {CAROL, "ALTER TABLE c.ct SET SCHEMA a", "42501", "permission denied for schema a"},
    {CAROL, "ALTER TABLE c.ct OWNER TO bob", "42501", "must be member of role \"bob\""},
    {CAROL, "CREATE SCHEMA cs", "42501", "permission denied for database cowcat"},
    {CAROL, "CREATE TABLE c.ct3 (x int)", NULL, NULL},
    {CAROL, "CREATE INDEX ON c.ct3 (x)", NULL, NULL},
    {CAROL, "CREATE VIEW c.cv3 AS SELECT x FROM c.ct3", NULL, NULL},
    {CAROL, "COMMENT ON TABLE c.ct3 IS 'carol''s'", NULL, NULL},
    {CAROL, "ALTER TABLE c.ct3 RENAME TO ct4", NULL, NULL},
    {CAROL, "GRANT SELECT ON c.ct4 TO bob", NULL, NULL},
    {CAROL, "REVOKE SELECT ON c.ct4 FROM bob", NULL, NULL},
    {BOB, "DROP VIEW c.cv3", "42501", "must be owner of view cv3"},
    {CAROL, "DROP VIEW c.cv3", NULL, NULL},
    {CAROL, "DROP TABLE c.ct4", NULL, NULL},

    /* --- cowcat: CREATEDB and CREATEROLE, not a superuser; owns schema c --- */
    {COWCAT, "DROP TABLE a.t", "42501", OWN_T},
    {COWCAT, "ALTER TABLE a.t RENAME TO t2", "42501", OWN_T},
    {COWCAT, "DROP DATABASE adb", "42501", OWN_DB},
    {COWCAT, "ALTER TABLE c.ct RENAME TO x", "42501", "must be owner of table ct"},
    {COWCAT, "ALTER TABLE c.ct ADD COLUMN y int", "42501", "must be owner of table ct"},
    {COWCAT, "COMMENT ON TABLE c.ct IS 'x'", "42501", "must be owner of table ct"},
    {COWCAT, "DROP ROLE su2", "42501", "must be superuser to drop superusers"},
    {COWCAT, "ALTER ROLE su2 PASSWORD 'x'", "42501", SU_ALTER},
    {COWCAT, "ALTER ROLE su2 RENAME TO su3", "42501", "must be superuser to rename superusers"},
    {COWCAT, "COMMENT ON ROLE su2 IS 'x'", "42501", "must be superuser"},
    {COWCAT, "ALTER ROLE alice SUPERUSER", "42501", SU_ALTER},
    {COWCAT, "CREATE ROLE su3 SUPERUSER", "42501", "must be superuser to create superusers"},
    {COWCAT, "DROP ROLE cowcat", "55006", "current user cannot be dropped"},
    {COWCAT, "ALTER ROLE cowcat RENAME TO x", "0A000", "session user cannot be renamed"},
    {COWCAT, "DROP ROLE cowcat_system", "42501", SYS_ROLE},
    {COWCAT, "ALTER ROLE cowcat_system RENAME TO x", "42501", SYS_ROLE},
    {COWCAT, "ALTER ROLE cowcat_system PASSWORD 'x'", "42501", SU_ALTER},
    {COWCAT, "COMMENT ON ROLE cowcat_system IS 'x'", "42501", SYS_ROLE},
    {COWCAT, "ALTER SYSTEM SET max_tables = 5", "42501", NO_SET},
    {COWCAT, "ALTER DATABASE cowcat RENAME TO x", "0A000", "current database cannot be renamed"},
    {COWCAT, "DROP DATABASE cowcat", "55006", "cannot drop the currently open database"},
    {COWCAT, "CREATE ROLE dave", NULL, NULL},
    {COWCAT, "ALTER ROLE dave CREATEDB LOGIN", NULL, NULL},
    {COWCAT, "COMMENT ON ROLE dave IS 'made by cowcat'", NULL, NULL},
    {COWCAT, "ALTER ROLE dave RENAME TO dave2", NULL, NULL},
    {COWCAT, "DROP ROLE dave2", NULL, NULL},
    {COWCAT, "CREATE DATABASE cdb", NULL, NULL},
    {COWCAT, "COMMENT ON DATABASE cdb IS 'x'", NULL, NULL},
    {COWCAT, "ALTER DATABASE cdb RENAME TO cdb2", NULL, NULL},
    {COWCAT, "DROP DATABASE cdb2", NULL, NULL},
    {COWCAT, "CREATE SCHEMA cs2 AUTHORIZATION alice", "42501", "must be member of role \"alice\""},
    {COWCAT, "CREATE DATABASE cdb3 OWNER alice", "42501", "must be member of role \"alice\""},
    {COWCAT, "CREATE SCHEMA cs", NULL, NULL},
    {COWCAT, "DROP SCHEMA cs", NULL, NULL},
    {COWCAT, "CREATE OR REPLACE VIEW c.cv AS SELECT id, 1 AS x FROM c.ct", "42501",
     "must be owner of view cv"},
    /* the owner of a schema may drop what is in it (not alter it), as in PostgreSQL */
    {COWCAT, "DROP VIEW c.cv", NULL, NULL},

    /* --- alice: the owner --- */
    {ALICE, "ALTER TABLE a.t OWNER TO bob", "42501", "must be member of role \"bob\""},
    {ALICE, "ALTER DATABASE adb OWNER TO bob", "42501", "must be member of role \"bob\""},
    {ALICE, "ALTER DATABASE adb RENAME TO adb2", "42501", "permission denied to rename database"},
    {ALICE, "GRANT SELECT ON a.t TO bob WITH GRANT OPTION", "0A000",
     "feature not supported: WITH GRANT OPTION"},
    {ALICE, "CREATE SCHEMA as1", "42501", "permission denied for database cowcat"},
    {ALICE, "CREATE TABLE public.x (x int)", "42501", "permission denied for schema public"},
    {ALICE, "ALTER TABLE a.t SET SCHEMA c", "42501", "permission denied for schema c"},
    {ALICE, "DROP TABLE c.ct", "42501", "must be owner of table ct"},
    {ALICE, "DROP SCHEMA a", "2BP01", "cannot drop schema a because other objects depend on it"},
    {ALICE, "CREATE ROLE x", "42501", "permission denied to create role"},
    {ALICE, "ALTER SYSTEM SET max_tables = 5", "42501", NO_SET},
    {ALICE, "ALTER TABLE a.t ADD COLUMN z int", NULL, NULL},
    {ALICE, "ALTER TABLE a.t RENAME COLUMN z TO z2", NULL, NULL},
    {ALICE, "ALTER TABLE a.t DROP COLUMN z2", NULL, NULL},
    {ALICE, "ALTER TABLE a.t RENAME TO t2", NULL, NULL},
    {ALICE, "ALTER TABLE a.t2 RENAME TO t", NULL, NULL},
    {ALICE, "ALTER TABLE a.t SET SCHEMA a2", NULL, NULL},
    {ALICE, "ALTER TABLE a2.t SET SCHEMA a", NULL, NULL},
    {ALICE, "ALTER TABLE a.t OWNER TO alice", NULL, NULL},
    {ALICE, "ALTER VIEW a.v RENAME COLUMN id TO k", NULL, NULL},
    {ALICE, "ALTER VIEW a.v RENAME COLUMN k TO id", NULL, NULL},
    {ALICE, "ALTER VIEW a.v RENAME TO v2", NULL, NULL},
    {ALICE, "ALTER VIEW a.v2 RENAME TO v", NULL, NULL},
    {ALICE, "ALTER VIEW a.v SET SCHEMA a2", NULL, NULL},
    {ALICE, "ALTER VIEW a2.v SET SCHEMA a", NULL, NULL},
    {ALICE, "ALTER MATERIALIZED VIEW a.mv RENAME TO mv2", NULL, NULL},
    {ALICE, "ALTER MATERIALIZED VIEW a.mv2 RENAME TO mv", NULL, NULL},
    {ALICE, "ALTER MATERIALIZED VIEW a.mv SET SCHEMA a2", NULL, NULL},
    {ALICE, "ALTER MATERIALIZED VIEW a2.mv SET SCHEMA a", NULL, NULL},
    {ALICE, "ALTER INDEX a.t_m_idx RENAME TO i2", NULL, NULL},
    {ALICE, "ALTER INDEX a.i2 RENAME TO t_m_idx", NULL, NULL},
    {ALICE, "ALTER TYPE a.mood RENAME TO m2", NULL, NULL},
    {ALICE, "ALTER TYPE a.m2 RENAME TO mood", NULL, NULL},
    {ALICE, "ALTER TYPE a.mood SET SCHEMA a2", NULL, NULL},
    {ALICE, "ALTER TYPE a2.mood SET SCHEMA a", NULL, NULL},
    {ALICE, "ALTER SCHEMA a2 RENAME TO a3", NULL, NULL},
    {ALICE, "ALTER SCHEMA a3 RENAME TO a2", NULL, NULL},
    {ALICE, "COMMENT ON TABLE a.t IS 'alice''s'", NULL, NULL},
    {ALICE, "COMMENT ON VIEW a.v IS 'x'", NULL, NULL},
    {ALICE, "COMMENT ON MATERIALIZED VIEW a.mv IS 'x'", NULL, NULL},
    {ALICE, "COMMENT ON INDEX a.t_m_idx IS 'x'", NULL, NULL},
    {ALICE, "COMMENT ON TYPE a.mood IS 'x'", NULL, NULL},
    {ALICE, "COMMENT ON COLUMN a.t.m IS 'x'", NULL, NULL},
    {ALICE, "COMMENT ON SCHEMA a IS 'x'", NULL, NULL},
    {ALICE, "COMMENT ON DATABASE adb IS 'x'", NULL, NULL},
    {ALICE, "GRANT SELECT ON a.v TO bob", NULL, NULL},
    {ALICE, "REVOKE SELECT ON a.v FROM bob", NULL, NULL},
    {ALICE, "CREATE TABLE a.t3 (x int)", NULL, NULL},
    {ALICE, "DROP TABLE a.t3", NULL, NULL},

    /* --- the superuser on alice's objects --- */
    {SU, "ALTER TABLE a.t OWNER TO bob", NULL, NULL},
    {SU, "ALTER TABLE a.t OWNER TO alice", NULL, NULL},
    {SU, "ALTER TABLE a.t RENAME TO t2", NULL, NULL},
    {SU, "ALTER TABLE a.t2 RENAME TO t", NULL, NULL},
    {SU, "ALTER TABLE a.t ADD COLUMN w int", NULL, NULL},
    {SU, "ALTER TABLE a.t DROP COLUMN w", NULL, NULL},
    {SU, "ALTER TYPE a.mood OWNER TO bob", NULL, NULL},
    {SU, "ALTER TYPE a.mood OWNER TO alice", NULL, NULL},
    {SU, "ALTER SCHEMA a OWNER TO bob", NULL, NULL},
    {SU, "ALTER SCHEMA a OWNER TO alice", NULL, NULL},
    {SU, "ALTER DATABASE adb RENAME TO adb2", NULL, NULL},
    {SU, "ALTER DATABASE adb2 RENAME TO adb", NULL, NULL},
    {SU, "COMMENT ON TABLE a.t IS 'su'", NULL, NULL},
    {SU, "COMMENT ON COLUMN a.t.id IS 'su'", NULL, NULL},
    {SU, "COMMENT ON TYPE a.mood IS 'su'", NULL, NULL},
    {SU, "COMMENT ON SCHEMA a IS 'su'", NULL, NULL},
    {SU, "COMMENT ON DATABASE adb IS 'su'", NULL, NULL},
    {SU, "COMMENT ON ROLE alice IS 'su'", NULL, NULL},
    {SU, "COMMENT ON ROLE su2 IS 'su'", NULL, NULL},
    {SU, "ALTER ROLE su2 RENAME TO su3", NULL, NULL},
    {SU, "ALTER ROLE su3 RENAME TO su2", NULL, NULL},
    {SU, "GRANT SELECT ON a.t TO bob", NULL, NULL},
    {SU, "REVOKE SELECT ON a.t FROM bob", NULL, NULL},
    {SU, "CREATE TABLE a.sut (x int)", NULL, NULL},
    {SU, "DROP TABLE a.sut", NULL, NULL},
    {SU, "GRANT SELECT ON a.t TO bob WITH GRANT OPTION", "0A000",
     "feature not supported: WITH GRANT OPTION"},

    /* --- system objects: nobody, the superuser included --- */
    {SU, "DROP SCHEMA cowcat_catalog", "42501", SYS_CAT},
    {SU, "DROP SCHEMA information_schema CASCADE", "42501", SYS_INFO},
    {SU, "ALTER SCHEMA information_schema RENAME TO x", "42501", SYS_INFO},
    {SU, "ALTER SCHEMA cowcat_catalog OWNER TO bob", "42501", SYS_CAT},
    {SU, "COMMENT ON SCHEMA information_schema IS 'x'", "42501", SYS_INFO},
    {SU, "GRANT USAGE ON SCHEMA cowcat_catalog TO bob", "42501", SYS_CAT},
    {SU, "REVOKE USAGE ON SCHEMA cowcat_catalog FROM PUBLIC", "42501", SYS_CAT},
    {SU, "CREATE TABLE cowcat_catalog.x (a int)", "42501",
     "permission denied for schema cowcat_catalog"},
    {SU, "CREATE VIEW information_schema.x AS SELECT 1 AS one", "42501",
     "permission denied for schema information_schema"},
    {SU, "CREATE TYPE cowcat_catalog.e AS ENUM ('x')", "42501",
     "permission denied for schema cowcat_catalog"},
    {SU, "ALTER TABLE a.t SET SCHEMA cowcat_catalog", "42501",
     "permission denied for schema cowcat_catalog"},
    {SU, "DROP VIEW cowcat_catalog.objects", "42501",
     "permission denied: \"objects\" is a system catalog"},
    {SU, "DROP VIEW IF EXISTS cowcat_catalog.objects", "42501",
     "permission denied: \"objects\" is a system catalog"},
    {SU, "DROP TABLE information_schema.tables", "42501",
     "permission denied: \"tables\" is a system catalog"},
    {SU, "ALTER VIEW cowcat_catalog.roles RENAME TO x", "42501",
     "permission denied: \"roles\" is a system catalog"},
    {SU, "ALTER TABLE cowcat_catalog.tables ADD COLUMN z int", "42501",
     "permission denied: \"tables\" is a system catalog"},
    {SU, "ALTER VIEW information_schema.columns SET SCHEMA public", "42501",
     "permission denied: \"columns\" is a system catalog"},
    {SU, "ALTER VIEW cowcat_catalog.objects OWNER TO bob", "42501",
     "permission denied: \"objects\" is a system catalog"},
    {SU, "COMMENT ON VIEW information_schema.tables IS 'x'", "42501",
     "permission denied: \"tables\" is a system catalog"},
    {SU, "COMMENT ON COLUMN cowcat_catalog.objects.oid IS 'x'", "42501",
     "permission denied: \"objects\" is a system catalog"},
    {SU, "GRANT SELECT ON cowcat_catalog.objects TO bob", "42501",
     "permission denied: \"objects\" is a system catalog"},
    {SU, "CREATE INDEX ON cowcat_catalog.objects (oid)", "42501",
     "permission denied: \"objects\" is a system catalog"},
    {SU, "DROP ROLE cowcat_system", "55006", "current user cannot be dropped"},
    {SU, "ALTER ROLE cowcat_system RENAME TO x", "0A000", "session user cannot be renamed"},
    {SU, "ALTER ROLE cowcat_system NOSUPERUSER", "42501",
     "permission denied to alter role \"cowcat_system\": it is a system role"},
    {SU, "ALTER ROLE cowcat_system NOLOGIN", "42501",
     "permission denied to alter role \"cowcat_system\": it is a system role"},
    {SU, "COMMENT ON ROLE cowcat_system IS 'x'", "42501", SYS_ROLE},
    {SU, "CREATE ROLE cowcat_system", "42710", "role \"cowcat_system\" already exists"},
    {SU, "CREATE ROLE pg_x", "42939", "role name \"pg_x\" is reserved"},
    {SU, "CREATE SCHEMA pg_x", "42939", "unacceptable schema name \"pg_x\""},
    {SU, "ALTER SCHEMA a RENAME TO pg_a", "42939", "unacceptable schema name \"pg_a\""},
    {SU, "DROP SCHEMA pg_catalog", "3F000", "schema \"pg_catalog\" does not exist"},
    {SU, "DROP ROLE alice, cowcat_system", "55006", "current user cannot be dropped"},
    {SU_INT, "DROP SCHEMA cowcat_catalog", "42501", SYS_CAT},
    {SU_INT, "COMMENT ON ROLE cowcat_system IS 'x'", "42501", SYS_ROLE},
    {SU_INT, "DROP VIEW cowcat_catalog.objects", "42501",
     "permission denied: \"objects\" is a system catalog"},
    {BOB, "DROP SCHEMA cowcat_catalog", "42501", SYS_CAT},
    {BOB, "COMMENT ON SCHEMA information_schema IS 'x'", "42501", SYS_INFO},
    {BOB, "DROP VIEW cowcat_catalog.objects", "42501",
     "permission denied: \"objects\" is a system catalog"},
    {BOB, "DROP ROLE cowcat_system", "42501", "permission denied to drop role"},
    {BOB, "COMMENT ON ROLE cowcat_system IS 'x'", "42501", SYS_ROLE},
    {ALICE, "ALTER SCHEMA cowcat_catalog RENAME TO x", "42501", SYS_CAT},
    {ALICE, "CREATE TABLE information_schema.x (a int)", "42501",
     "permission denied for schema information_schema"},
    {CAROL, "GRANT USAGE ON SCHEMA information_schema TO bob", "42501",
     "permission denied for schema information_schema"},
    {COWCAT, "DROP SCHEMA information_schema", "42501", SYS_INFO},

    /* --- ALTER SYSTEM: superuser only, on either port (README: the system role) --- */
    {SU_INT, "ALTER SYSTEM SET max_tables = 100000", NULL, NULL},
    {SU_INT, "ALTER SYSTEM RESET max_tables", NULL, NULL},
    {SU, "ALTER SYSTEM SET max_tables = 100000", NULL, NULL},
    {SU, "ALTER SYSTEM RESET max_tables", NULL, NULL},
    {SU_INT, "ALTER SYSTEM SET no_such_limit = 1", "42704",
     "unrecognized configuration parameter \"no_such_limit\""},
    {CAROL, "ALTER SYSTEM SET max_roles = 1", "42501",
     "permission denied to set parameter \"max_roles\""},

    /* --- at the end, the owners and the superuser drop it all --- */
    {CAROL, "DROP TABLE c.ct", NULL, NULL},
    {ALICE, "DROP MATERIALIZED VIEW a.mv", NULL, NULL},
    {ALICE, "DROP INDEX a.t_m_idx", NULL, NULL},
    {SU, "DROP VIEW a.v", NULL, NULL},
    {ALICE, "DROP TYPE a.mood CASCADE", NULL, NULL},
    {SU, "DROP SCHEMA a2", NULL, NULL},
    {ALICE, "DROP SCHEMA a CASCADE", NULL, NULL},
    {SU, "DROP DATABASE adb", NULL, NULL},
    {SU, "DROP ROLE su2", NULL, NULL},
    {COWCAT, "DROP SCHEMA c", NULL, NULL},
};

static srvproc srv;
static PGconn *conn[NACTOR];

/* The last WARNING a connection received (notice receiver; reset before each cell). */
typedef struct warning {
    char state[8];
    char msg[256];
} warning;
static warning warned[NACTOR];

static void
on_notice(void *arg, const PGresult *r)
{
    warning *w = arg;
    const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev == NULL || strcmp(sev, "WARNING") != 0)
        return;
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    snprintf(w->state, sizeof w->state, "%s", st ? st : "");
    snprintf(w->msg, sizeof w->msg, "%s", m ? m : "");
}

/* Runs sql; cr_asserts it succeeds (setup). */
static void
must(actor a, const char *sql)
{
    PGresult *r = PQexec(conn[a], sql);
    ExecStatusType st = PQresultStatus(r);
    cr_assert(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "setup as %s: %s: %s", actor_name[a],
              sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* A user's password: its name with "-pw". */
static const char *
password_of(const char *user, char *buf, size_t n)
{
    snprintf(buf, n, "%s-pw", user);
    return buf;
}

/* Opens a's connection (the system role on the internal port: trusted, no password). */
static void
open_as(actor a)
{
    char pw[64];
    conn[a] = srvproc_connect(&srv, actor_user[a],
                              a == SU_INT ? NULL : password_of(actor_user[a], pw, sizeof pw),
                              a == SU_INT);
    cr_assert_eq(PQstatus(conn[a]), CONNECTION_OK, "%s: %s", actor_name[a],
                 PQerrorMessage(conn[a]));
}

static void
start(void)
{
    const char *extra[] = {"--auth", "scram", NULL};
    cr_assert_eq(srvproc_start(&srv, NULL, extra), 0);
    open_as(SU_INT);
    must(SU_INT, "ALTER ROLE cowcat_system PASSWORD 'cowcat_system-pw';"
                 "ALTER ROLE cowcat PASSWORD 'cowcat-pw';"
                 "CREATE ROLE alice LOGIN PASSWORD 'alice-pw';"
                 "CREATE ROLE bob LOGIN PASSWORD 'bob-pw';"
                 "CREATE ROLE carol LOGIN PASSWORD 'carol-pw';"
                 "CREATE ROLE su2 SUPERUSER;"
                 "CREATE SCHEMA a AUTHORIZATION alice; CREATE SCHEMA a2 AUTHORIZATION alice;"
                 "GRANT USAGE ON SCHEMA a TO carol; CREATE DATABASE adb OWNER alice");
    open_as(SU);
    open_as(COWCAT);
    must(COWCAT, "CREATE SCHEMA c; GRANT CREATE, USAGE ON SCHEMA c TO carol");
    for (actor a = ALICE; a < NACTOR; a++)
        open_as(a);
    for (actor a = SU; a < NACTOR; a++)
        PQsetNoticeReceiver(conn[a], on_notice, &warned[a]);
    must(ALICE, "CREATE TYPE a.mood AS ENUM ('sad', 'ok');"
                "CREATE TABLE a.t (id int PRIMARY KEY, m a.mood);"
                "CREATE INDEX t_m_idx ON a.t (m);"
                "CREATE VIEW a.v AS SELECT id FROM a.t;"
                "CREATE MATERIALIZED VIEW a.mv AS SELECT id FROM a.t;"
                "COMMENT ON COLUMN a.t.id IS 'key';"
                "GRANT SELECT ON a.t TO carol; GRANT USAGE ON TYPE a.mood TO carol");
    must(CAROL, "CREATE TABLE c.ct (id int); CREATE VIEW c.cv AS SELECT id FROM c.ct");
}

static void
stop(void)
{
    for (actor a = SU; a < NACTOR; a++)
        if (conn[a] != NULL)
            PQfinish(conn[a]);
    memset(conn, 0, sizeof conn);
    cr_expect_eq(srvproc_stop(&srv), 0, "cowcatd did not exit cleanly (log %s)", srv.log);
    cr_expect(!srvproc_log_has_sanitizer_report(&srv), "sanitizer report in %s", srv.log);
}

/*
 * Everything the catalog holds, as text (the superuser's view over the
 * internal port). The audit log's size catches any committed change,
 * grants and revokes included. Returns a malloc'd string.
 */
static char *
fingerprint(void)
{
    static const char *const q[] = {
        "SELECT * FROM cowcat_catalog.objects ORDER BY oid, id, kind",
        "SELECT * FROM cowcat_catalog.columns ORDER BY 1, 2, 3",
        "SELECT * FROM cowcat_catalog.comments ORDER BY 1, 2, 3, 4",
        "SELECT * FROM cowcat_catalog.dependencies ORDER BY 1, 2, 3, 4",
        "SELECT * FROM cowcat_catalog.roles ORDER BY name",
        "SELECT * FROM cowcat_catalog.limits ORDER BY name",
        "SELECT count(*) FROM cowcat_catalog.audit_events",
    };
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    cr_assert_not_null(out);
    out[0] = '\0';
    for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
        PGresult *r = PQexec(conn[SU_INT], q[i]);
        cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s: %s", q[i], PQresultErrorMessage(r));
        for (int row = 0; row < PQntuples(r); row++)
            for (int col = 0; col < PQnfields(r); col++) {
                const char *v = PQgetisnull(r, row, col) ? "<null>" : PQgetvalue(r, row, col);
                size_t need = len + strlen(v) + 2;
                if (need > cap) {
                    cap = need * 2;
                    out = realloc(out, cap);
                    cr_assert_not_null(out);
                }
                len += (size_t)snprintf(out + len, cap - len, "%s%c", v,
                                        col + 1 == PQnfields(r) ? '\n' : '|');
            }
        PQclear(r);
    }
    return out;
}

static bool
same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * Runs k's statement as who, by the simple query protocol or (extended) by
 * Parse/Bind/Execute; returns 0 if the outcome is the expected one, else 1
 * after logging both. A WARNING counts as the outcome of a success.
 */
static size_t
run_cell(size_t i, const cell *k, bool extended)
{
    warned[k->who] = (warning){{0}, {0}};
    PGresult *r = extended ? PQexecParams(conn[k->who], k->sql, 0, NULL, NULL, NULL, NULL, 0)
                           : PQexec(conn[k->who], k->sql);
    ExecStatusType st = PQresultStatus(r);
    const char *state = NULL, *msg = NULL;
    if (st == PGRES_FATAL_ERROR) {
        state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    } else if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        state = "?????";
        msg = PQresStatus(st);
    } else if (warned[k->who].state[0] != '\0') {
        state = warned[k->who].state;
        msg = warned[k->who].msg;
    }
    size_t bad = 0;
    if (!same(state, k->state) || (k->state != NULL && !same(msg, k->msg))) {
        cr_log_error("cell %zu%s: %s: %s\n    expected %s %s\n    actual   %s %s", i,
                     extended ? " (extended protocol)" : "", actor_name[k->who], k->sql,
                     k->state ? k->state : "success", k->msg ? k->msg : "",
                     state ? state : "success", msg ? msg : "");
        bad = 1;
    }
    PQclear(r);
    cr_assert_eq(PQstatus(conn[k->who]), CONNECTION_OK, "cell %zu lost its connection", i);
    return bad;
}

TestSuite(server_authz, .init = start, .fini = stop, .timeout = 60);

Test(server_authz, every_role_statement_cell_has_the_expected_outcome_and_denials_change_nothing)
{
    size_t ncells = sizeof matrix / sizeof *matrix, bad = 0, nextended = 0;
    for (size_t i = 0; i < ncells; i++) {
        const cell *k = &matrix[i];
        char *before = k->state != NULL ? fingerprint() : NULL;
        bad += run_cell(i, k, false);
        /* a refusal changes nothing, so it can be asked again the other way */
        if (k->state != NULL && strchr(k->sql, ';') == NULL) {
            bad += run_cell(i, k, true);
            nextended++;
        }
        if (before != NULL) {
            char *after = fingerprint();
            if (strcmp(before, after) != 0) {
                cr_log_error("cell %zu: %s: %s: the catalog changed", i, actor_name[k->who],
                             k->sql);
                bad++;
            }
            free(after);
            free(before);
        }
    }
    cr_log_info("authorization matrix: %zu cells, %zu refusals also over the extended protocol",
                ncells, nextended);
    cr_assert_eq(bad, 0, "%zu of %zu cells did not match (see the log above)", bad, ncells);
}

Test(server_authz, the_internal_port_refuses_every_role_but_the_system_role_at_connect)
{
    static const char *const refused[] = {"cowcat", "alice", "bob", "carol"};
    char pw[64];
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        PGconn *c = srvproc_connect(&srv, refused[i], password_of(refused[i], pw, sizeof pw), true);
        char want[128];
        snprintf(want, sizeof want, "role \"%s\" may not connect on the internal port", refused[i]);
        cr_expect_eq(PQstatus(c), CONNECTION_BAD, "%s was admitted on the internal port",
                     refused[i]);
        cr_expect(strstr(PQerrorMessage(c), want) != NULL, "%s: %s", refused[i], PQerrorMessage(c));
        PQfinish(c);
    }
    /* one role's password does not open another's session */
    PGconn *c = srvproc_connect(&srv, "alice", "bob-pw", false);
    cr_expect_eq(PQstatus(c), CONNECTION_BAD, "alice logged in with bob's password");
    cr_expect(strstr(PQerrorMessage(c), "password authentication failed for user \"alice\"") !=
                  NULL,
              "%s", PQerrorMessage(c));
    PQfinish(c);
    /* a role that cannot log in is refused on the user port too */
    must(SU, "CREATE ROLE nologin_role PASSWORD 'nologin_role-pw'");
    c = srvproc_connect(&srv, "nologin_role", "nologin_role-pw", false);
    cr_expect_eq(PQstatus(c), CONNECTION_BAD);
    cr_expect(strstr(PQerrorMessage(c), "role \"nologin_role\" is not permitted to log in") != NULL,
              "%s", PQerrorMessage(c));
    PQfinish(c);
    /* the system role is admitted, and the connections already open still answer */
    c = srvproc_connect(&srv, "cowcat_system", NULL, true);
    cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
    char v[64];
    cr_expect_eq(srvproc_value(c, "SELECT current_user", v, sizeof v), PGRES_TUPLES_OK);
    cr_expect_str_eq(v, "cowcat_system");
    PQfinish(c);
    cr_expect_eq(srvproc_value(conn[BOB], "SELECT current_user", v, sizeof v), PGRES_TUPLES_OK);
    cr_expect_str_eq(v, "bob");
}

Test(server_authz, a_role_dropped_while_connected_can_do_nothing_it_could_not_before)
{
    /* PostgreSQL lets a role with sessions be dropped; the session keeps no privilege. */
    must(SU, "CREATE ROLE eve LOGIN PASSWORD 'eve-pw'; CREATE SCHEMA e AUTHORIZATION eve");
    PGconn *eve = srvproc_connect(&srv, "eve", "eve-pw", false);
    cr_assert_eq(PQstatus(eve), CONNECTION_OK, "%s", PQerrorMessage(eve));
    char v[64];
    cr_assert_eq(srvproc_value(eve, "CREATE TABLE e.x (a int)", v, sizeof v), PGRES_COMMAND_OK,
                 "%s", v);
    must(SU, "DROP TABLE e.x; DROP SCHEMA e; DROP ROLE eve");
    cr_expect_eq(srvproc_value(eve, "CREATE SCHEMA e2", v, sizeof v), PGRES_FATAL_ERROR);
    cr_expect_str_eq(v, "42501");
    cr_expect_eq(srvproc_value(eve, "CREATE TABLE x (a int)", v, sizeof v), PGRES_FATAL_ERROR);
    cr_expect_str_eq(v, "42501");
    cr_expect_eq(srvproc_value(conn[SU],
                               "SELECT count(*) FROM cowcat_catalog.objects "
                               "WHERE name = 'e2' OR name = 'x'",
                               v, sizeof v),
                 PGRES_TUPLES_OK);
    cr_expect_str_eq(v, "0");
    PQfinish(eve);
}

/* A connection to database dbname as user (its password: user-pw). */
static PGconn *
connect_to(const char *user, const char *dbname)
{
    char port[16], pw[64];
    snprintf(port, sizeof port, "%d", srv.port);
    const char *keys[] = {"host", "port", "user", "dbname", "password", "connect_timeout", NULL};
    const char *vals[] = {"127.0.0.1", port, user, dbname, password_of(user, pw, sizeof pw), "10",
                          NULL};
    return PQconnectdbParams(keys, vals, 0);
}

Test(server_authz, a_database_other_sessions_are_connected_to_cannot_be_dropped_or_renamed)
{
    must(SU, "CREATE DATABASE xdb OWNER alice");
    PGconn *in_x = connect_to("alice", "xdb");
    cr_assert_eq(PQstatus(in_x), CONNECTION_OK, "%s", PQerrorMessage(in_x));
    /* the owner and the superuser; renaming also takes CREATEDB, which alice lacks */
    static const struct {
        actor who;
        const char *sql;
    } ddl[] = {{ALICE, "DROP DATABASE xdb"},
               {SU, "DROP DATABASE xdb"},
               {SU, "ALTER DATABASE xdb RENAME TO ydb"}};
    for (size_t i = 0; i < sizeof ddl / sizeof *ddl; i++) {
        PGresult *r = PQexec(conn[ddl[i].who], ddl[i].sql);
        cr_expect_eq(PQresultStatus(r), PGRES_FATAL_ERROR, "%s: %s", actor_name[ddl[i].who],
                     ddl[i].sql);
        cr_expect_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "55006", "%s",
                         PQresultErrorMessage(r));
        cr_expect_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY),
                         "database \"xdb\" is being accessed by other users");
        cr_expect_str_eq(PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL),
                         "There is 1 other session using the database.");
        PQclear(r);
    }
    /* the session in xdb still works */
    char v[64];
    cr_expect_eq(srvproc_value(in_x, "SELECT current_database()", v, sizeof v), PGRES_TUPLES_OK);
    cr_expect_str_eq(v, "xdb");
    /* once it has gone (the server closes its session after the client), the drop goes through */
    PQfinish(in_x);
    ExecStatusType st = PGRES_FATAL_ERROR;
    for (int tries = 0; tries < 500 && st != PGRES_COMMAND_OK; tries++) {
        PGresult *r = PQexec(conn[ALICE], "DROP DATABASE xdb");
        st = PQresultStatus(r);
        if (st != PGRES_COMMAND_OK) {
            cr_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "55006", "%s",
                             PQresultErrorMessage(r));
            usleep(10 * 1000);
        }
        PQclear(r);
    }
    cr_assert_eq(st, PGRES_COMMAND_OK, "DROP DATABASE xdb never went through");
    PGconn *late = connect_to("alice", "xdb");
    cr_expect_eq(PQstatus(late), CONNECTION_BAD);
    cr_expect(strstr(PQerrorMessage(late), "database \"xdb\" does not exist") != NULL, "%s",
              PQerrorMessage(late));
    PQfinish(late);
}
