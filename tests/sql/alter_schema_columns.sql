-- ALTER ... SET SCHEMA, and the stored SQL kept in step with column changes
CREATE SCHEMA s;
CREATE TABLE t (a int PRIMARY KEY, b text CHECK (b <> ''), c int UNIQUE);
CREATE INDEX t_b_idx ON t (b) WHERE a > 0;
CREATE TABLE f (x int REFERENCES t (a), y int REFERENCES public.t);
CREATE VIEW v AS SELECT a, t.b, public.t.c FROM public.t WHERE a > 1;
CREATE VIEW vs AS SELECT * FROM t;
CREATE TYPE mood AS ENUM ('ok', 'meh');
CREATE TABLE tm (m mood, n mood[]);
CREATE VIEW vm AS SELECT 'ok'::mood AS k, m FROM tm;
-- moving a table moves its indexes; dependents are re-qualified
ALTER TABLE t SET SCHEMA s;
SELECT table_schema, table_name FROM information_schema.tables WHERE table_name IN ('t', 'f') ORDER BY 1, 2;
SELECT schema, name FROM cowcat_catalog.indexes WHERE name = 't_b_idx';
SHOW CREATE TABLE s.t;
SHOW CREATE INDEX s.t_b_idx;
SHOW CREATE TABLE f;
SHOW CREATE VIEW v;
SHOW CREATE VIEW vs;
-- errors
ALTER TABLE s.t SET SCHEMA nosuch;
ALTER TABLE nosuch SET SCHEMA s;
ALTER TABLE IF EXISTS nosuch SET SCHEMA s;
ALTER VIEW IF EXISTS nosuch SET SCHEMA nosuch;
ALTER TABLE s.t_b_idx SET SCHEMA public;
ALTER VIEW s.t SET SCHEMA public;
ALTER MATERIALIZED VIEW v SET SCHEMA s;
CREATE TABLE s.v (z int);
ALTER VIEW v SET SCHEMA s;
DROP TABLE s.v;
CREATE TABLE t_b_idx (z int);
ALTER TABLE s.t SET SCHEMA public;
DROP TABLE t_b_idx;
ALTER TABLE s.t SET SCHEMA s;
ALTER TYPE nosuch SET SCHEMA s;
ALTER TYPE f SET SCHEMA s;
CREATE TYPE s.mood AS ENUM ('x');
ALTER TYPE mood SET SCHEMA s;
DROP TYPE s.mood;
-- types and views
ALTER TYPE mood SET SCHEMA s;
SHOW CREATE TYPE s.mood;
SHOW CREATE TABLE tm;
SHOW CREATE VIEW vm;
ALTER VIEW v SET SCHEMA s;
SHOW CREATE VIEW s.v;
CREATE MATERIALIZED VIEW mv AS SELECT m FROM tm;
CREATE INDEX mv_m_idx ON mv (m);
ALTER MATERIALIZED VIEW mv SET SCHEMA s;
SELECT schema, name FROM cowcat_catalog.indexes WHERE name = 'mv_m_idx';
SHOW CREATE MATERIALIZED VIEW s.mv;
-- privileges: the owner, with CREATE on the target schema
CREATE ROLE r LOGIN;
CREATE SCHEMA rs;
GRANT CREATE ON SCHEMA public, rs TO r;
GRANT USAGE ON SCHEMA s TO r;
\c - r
ALTER TABLE f SET SCHEMA rs;
CREATE TABLE rt (a int);
CREATE VIEW rv AS SELECT a FROM rt;
ALTER TABLE rt SET SCHEMA s;
ALTER TABLE rt SET SCHEMA rs;
\c - cowcat
SHOW CREATE TABLE rs.rt;
SHOW CREATE VIEW rv;
-- RENAME COLUMN: the table, its constraints, indexes and the foreign keys to it
ALTER TABLE s.t RENAME COLUMN a TO aa;
SHOW CREATE TABLE s.t;
SHOW CREATE INDEX s.t_b_idx;
SHOW CREATE TABLE f;
SELECT constraint_name, constraint_type FROM information_schema.table_constraints
  WHERE table_name = 't' AND constraint_name LIKE 't\_%' ORDER BY 1;
-- views that read the column keep working and keep their column names
SHOW CREATE VIEW s.v;
SHOW CREATE VIEW vs;
SELECT table_name, column_name FROM information_schema.columns
  WHERE table_name IN ('v', 'vs') ORDER BY 1, ordinal_position;
-- scoping: only references that resolve to the renamed column change
CREATE TABLE p (k int, name text);
CREATE TABLE q (k int, label text);
CREATE VIEW pj AS SELECT p.k, q.k AS qk, name FROM p JOIN q ON p.k = q.k;
CREATE VIEW pa AS SELECT x.k, y.k AS yk FROM p x, q y WHERE x.k = y.k;
CREATE VIEW pc AS WITH q AS (SELECT k FROM p) SELECT k FROM q;
CREATE VIEW ps AS SELECT z.k FROM (SELECT k, name FROM p) z WHERE z.k > 0;
CREATE VIEW pe AS SELECT label FROM q WHERE EXISTS (SELECT 1 FROM p WHERE p.k = q.k);
CREATE VIEW pn AS SELECT label FROM p, q;
ALTER TABLE q RENAME COLUMN k TO qid;
SHOW CREATE VIEW pj;
SHOW CREATE VIEW pa;
SHOW CREATE VIEW pc;
SHOW CREATE VIEW ps;
SHOW CREATE VIEW pe;
ALTER TABLE q RENAME COLUMN label TO name;
SHOW CREATE VIEW pn;
SHOW CREATE VIEW pj;
ALTER TABLE p RENAME COLUMN k TO pk;
-- ALTER VIEW ... RENAME COLUMN, and views over the view follow
CREATE VIEW pv AS SELECT pk, name FROM p;
CREATE VIEW pw AS SELECT pk FROM pv WHERE name <> '';
ALTER VIEW pv RENAME COLUMN pk TO id;
ALTER VIEW pv RENAME COLUMN nosuch TO x;
ALTER VIEW pv RENAME COLUMN id TO name;
ALTER VIEW IF EXISTS nosuch RENAME COLUMN a TO b;
SHOW CREATE VIEW pv;
SHOW CREATE VIEW pw;
SELECT table_name, column_name FROM information_schema.columns
  WHERE table_name IN ('pv', 'pw') ORDER BY 1, ordinal_position;
-- ADD COLUMN: the table's statement, and * in views keeps meaning the old columns
ALTER TABLE p ADD COLUMN note text DEFAULT 'n/a' NOT NULL;
ALTER TABLE p ADD COLUMN IF NOT EXISTS note text;
CREATE VIEW pstar AS SELECT * FROM p;
ALTER TABLE p ADD COLUMN extra int;
SHOW CREATE TABLE p;
SHOW CREATE VIEW pstar;
SELECT column_name FROM information_schema.columns WHERE table_name = 'pstar' ORDER BY ordinal_position;
-- DROP COLUMN: constraints on it go, NOT NULL from a dropped key stays
CREATE TABLE k2 (a int, b int, c int CHECK (c > a), PRIMARY KEY (a, b));
CREATE TABLE r2 (x int, y int, FOREIGN KEY (x, y) REFERENCES k2);
ALTER TABLE k2 DROP COLUMN a;
ALTER TABLE k2 DROP COLUMN a CASCADE;
SHOW CREATE TABLE k2;
SHOW CREATE TABLE r2;
SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = 'k2' ORDER BY ordinal_position;
-- cowcat refuses what it cannot rewrite safely: JOIN ... USING / NATURAL JOIN over the column
-- (PostgreSQL renames; cowcat answers 0A000 and changes nothing)
CREATE TABLE j1 (id int, v text);
CREATE TABLE j2 (id int, w text);
CREATE VIEW ju AS SELECT * FROM j1 JOIN j2 USING (id);
CREATE VIEW jn AS SELECT v, w FROM j1 NATURAL JOIN j2;
ALTER TABLE j1 RENAME COLUMN id TO ident;
ALTER TABLE j2 RENAME COLUMN w TO v;
ALTER TABLE j1 ADD COLUMN w int;
ALTER TABLE j1 RENAME COLUMN v TO vv;
SHOW CREATE VIEW jn;
