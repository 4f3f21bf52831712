-- comments: COMMENT ON objects and columns, replacing and removing them
CREATE TABLE t (a int, b text);
CREATE VIEW v AS SELECT a FROM t;
CREATE INDEX t_a_idx ON t (a);
CREATE SCHEMA s;
COMMENT ON TABLE t IS 'the table';
COMMENT ON COLUMN t.a IS 'column a';
COMMENT ON COLUMN t.b IS 'column b';
COMMENT ON VIEW v IS 'the view';
COMMENT ON INDEX t_a_idx IS 'the index';
COMMENT ON SCHEMA s IS 'a schema';
SELECT object, object_kind, column_position, comment FROM cowcat_catalog.comments
  ORDER BY object, column_position NULLS FIRST;
-- replacing, quoting, removing
COMMENT ON TABLE t IS 'it''s the table';
COMMENT ON COLUMN t.b IS NULL;
COMMENT ON VIEW v IS '';
SELECT object, column_position, comment FROM cowcat_catalog.comments
  ORDER BY object, column_position NULLS FIRST;
-- errors
COMMENT ON TABLE nosuch IS 'x';
COMMENT ON COLUMN t.nosuch IS 'x';
COMMENT ON COLUMN nosuch.a IS 'x';
COMMENT ON VIEW t IS 'x';
COMMENT ON TABLE v IS 'x';
COMMENT ON INDEX nosuch IS 'x';
COMMENT ON SCHEMA nosuch IS 'x';
COMMENT ON COLUMN t IS 'x';
COMMENT ON FUNCTION f() IS 'x';
-- comments go with their objects
DROP VIEW v;
ALTER TABLE t RENAME COLUMN a TO aa;
SELECT object, column_position, comment FROM cowcat_catalog.comments
  ORDER BY object, column_position NULLS FIRST;
ALTER TABLE t DROP COLUMN aa;
SELECT object, column_position, comment FROM cowcat_catalog.comments
  ORDER BY object, column_position NULLS FIRST;
DROP TABLE t;
DROP SCHEMA s;
SELECT count(*) FROM cowcat_catalog.comments;
