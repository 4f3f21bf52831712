-- transactions: BEGIN / COMMIT / ROLLBACK, failed blocks (25P02), multi-statement strings
BEGIN;
CREATE TABLE t1 (a int);
CREATE VIEW v1 AS SELECT a FROM t1;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
COMMIT;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
-- ROLLBACK undoes everything since BEGIN
BEGIN;
CREATE TABLE t2 (a int);
DROP VIEW v1;
ALTER TABLE t1 RENAME TO t1_renamed;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
ROLLBACK;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
-- an error fails the block until its end
BEGIN;
CREATE TABLE t3 (a int);
CREATE TABLE t1 (a int);
CREATE TABLE t4 (a int);
SELECT 1;
SHOW search_path;
COMMIT;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
BEGIN;
CREATE TABLE t3 (a int);
DROP TABLE nosuch;
ROLLBACK;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
-- a syntax error fails the block too
START TRANSACTION;
CREATE TABLE t5 (a int);
CREATE TABLE t6 (a int,);
ROLLBACK;
-- BEGIN / COMMIT / ROLLBACK out of place
COMMIT;
ROLLBACK;
BEGIN;
BEGIN;
CREATE TABLE t7 (a int);
END;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
BEGIN ISOLATION LEVEL SERIALIZABLE;
ABORT;
-- savepoints are not supported
BEGIN;
SAVEPOINT sp;
ROLLBACK;
-- a string of several statements is one transaction
CREATE TABLE m1 (a int)\; CREATE TABLE m2 (a int)\; CREATE VIEW mv AS SELECT a FROM m1;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
CREATE TABLE m3 (a int)\; CREATE TABLE m1 (a int)\; CREATE TABLE m4 (a int);
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
CREATE TABLE m5 (a int)\; SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'm%' ORDER BY 1;
DROP TABLE m5\; DROP TABLE nosuch\; DROP TABLE m1 CASCADE;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name;
-- a string inside a block belongs to the block
BEGIN;
CREATE TABLE b1 (a int)\; CREATE TABLE b2 (a int);
ROLLBACK;
SELECT count(*) FROM information_schema.tables WHERE table_name IN ('b1', 'b2');
-- a string with its own BEGIN / COMMIT
BEGIN\; CREATE TABLE c1 (a int)\; COMMIT\; CREATE TABLE c2 (a int);
SELECT table_name FROM information_schema.tables WHERE table_name IN ('c1', 'c2') ORDER BY 1;
