-- tables: CREATE TABLE with columns, types and constraints; ALTER TABLE columns
CREATE TABLE t1 (a int, b text);
CREATE TABLE t1 (a int);
CREATE TABLE IF NOT EXISTS t1 (a int);
CREATE TABLE T1 (x int);
CREATE TABLE "T1" (x int);
CREATE TABLE t2 (
    id integer PRIMARY KEY,
    name varchar(20) NOT NULL,
    price numeric(10,2) DEFAULT 0,
    tags text[],
    flag boolean DEFAULT true,
    created timestamp with time zone
);
CREATE TABLE t3 (a int REFERENCES t2 (id), b int CHECK (b > 0), UNIQUE (a, b));
CREATE TABLE t4 (a smallint, b bigint, c real, d double precision, e char(3), f bytea, g date, h uuid, i jsonb);
CREATE TABLE public.t5 (a int CONSTRAINT t5_a_positive CHECK (a > 0));
-- errors
CREATE TABLE bad1 (a nosuchtype);
CREATE TABLE bad2 (a int, a text);
CREATE TABLE bad3 (a int PRIMARY KEY, b int PRIMARY KEY);
CREATE TABLE bad4 (a int, PRIMARY KEY (nosuch));
CREATE TABLE bad5 (a int REFERENCES nosuch);
CREATE TABLE bad6 (a int REFERENCES t2 (nosuch));
CREATE TABLE nosuchschema.bad7 (a int);
CREATE TABLE bad8 (a varchar(0));
CREATE TABLE bad9 (a numeric(1001));
CREATE TABLE bad10 (a int CHECK (nosuch > 0));
CREATE TABLE bad11 (a int, UNIQUE (a, nosuch));
CREATE TABLE bad12 ();
-- what the catalog says
SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
SELECT column_name, data_type, is_nullable, column_default
  FROM information_schema.columns WHERE table_name = 't2' ORDER BY ordinal_position;
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 't4' ORDER BY ordinal_position;
SELECT constraint_name, table_name, constraint_type FROM information_schema.table_constraints
  WHERE table_schema = 'public' AND constraint_name NOT LIKE '%not_null' ORDER BY constraint_name;
SELECT constraint_name, column_name, ordinal_position FROM information_schema.key_column_usage
  WHERE table_name IN ('t2', 't3') ORDER BY constraint_name, ordinal_position;
-- ALTER TABLE on columns
ALTER TABLE t1 ADD COLUMN c boolean;
ALTER TABLE t1 ADD COLUMN c int;
ALTER TABLE t1 ADD COLUMN IF NOT EXISTS c int;
ALTER TABLE t1 ADD COLUMN d varchar(10) NOT NULL DEFAULT 'x';
ALTER TABLE t1 DROP COLUMN b;
ALTER TABLE t1 DROP COLUMN nosuch;
ALTER TABLE t1 DROP COLUMN IF EXISTS nosuch;
ALTER TABLE t1 ADD COLUMN e nosuchtype;
ALTER TABLE nosuch ADD COLUMN x int;
ALTER TABLE IF EXISTS nosuch ADD COLUMN x int;
SELECT column_name, ordinal_position, data_type, character_maximum_length FROM information_schema.columns
  WHERE table_name = 't1' ORDER BY ordinal_position;
-- a table cannot be used as another kind, and has no rows here
CREATE INDEX t1_a_idx ON t1 (a);
DROP VIEW t1;
DROP INDEX t1;
DROP TABLE t1_a_idx;
DROP TABLE t1, t5;
SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public';
