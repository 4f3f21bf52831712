-- errors: syntax errors with positions, unsupported statements, wrong names and types
CREATE TABEL t (a int);
CREATE TABLE t (a int,);
CREATE TABLE t (a int));
SELECT 1 +;
CREATE TABLE (a int);
CREATE TABLE t (a int) WITH OIDS;
DROP TABLE;
CREATE TABLE "" (a int);
CREATE TABLE t (a int DEFAULT);
-- an error on the second line
CREATE TABLE t (a int,
    b nosuchtype);
-- unsupported statements
INSERT INTO t VALUES (1);
UPDATE t SET a = 1;
DELETE FROM t;
TRUNCATE t;
CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;
CREATE SEQUENCE seq;
CREATE TRIGGER tr AFTER INSERT ON t EXECUTE FUNCTION f();
VACUUM;
COPY t FROM STDIN;
CREATE TABLE t2 AS SELECT 1 AS a;
CREATE TEMP TABLE tt (a int);
CREATE TABLE s (a serial);
EXPLAIN SELECT 1;
-- names
CREATE TABLE t (a int);
CREATE TABLE t (b int);
CREATE TABLE abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz (a int);
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1;
CREATE TABLE abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz (a int);
ALTER TABLE nosuch RENAME TO x;
DROP TABLE nosuch;
DROP TABLE public.nosuch;
DROP TABLE nosuchschema.nosuch;
DROP TABLE nosuchdb.public.nosuch;
DROP TABLE a.b.c.d;
CREATE VIEW v AS SELECT nosuch FROM t;
CREATE VIEW v AS SELECT t.nosuch FROM t;
-- types
CREATE TABLE ty1 (a int4, b int8, c float8, d varchar, e character varying(5), f decimal(5,2));
CREATE TABLE ty2 (a varchar(-1));
CREATE TABLE ty3 (a numeric(5,6));
CREATE TABLE ty4 (a numeric(5,-1));
CREATE TABLE ty5 (a int(5));
CREATE TABLE ty6 (a text[][]);
CREATE TABLE ty7 (a nosuch[]);
CREATE TABLE ty8 (a pg_catalog.int4, b pg_catalog.nosuch);
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'ty1' ORDER BY ordinal_position;
-- expressions in SELECT
SELECT 1 = 'abc';
SELECT 'abc'::int;
SELECT nosuch();
SELECT 1 + 1;
SELECT 1 AS a, 2 AS b ORDER BY 3;
SELECT 5 AS five, 'x' AS x, true AND false AS f, NULL IS NULL AS n, 2 > 1 AS gt;
