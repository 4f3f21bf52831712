-- views: CREATE VIEW / OR REPLACE / materialized views, dependencies on tables
CREATE TABLE base (id int PRIMARY KEY, name text, score int);
CREATE VIEW v1 AS SELECT id, name FROM base;
CREATE VIEW v1 AS SELECT id FROM base;
CREATE VIEW v2 AS SELECT name FROM v1 WHERE id > 10;
CREATE VIEW v3 (ident, label) AS SELECT id, name FROM base;
CREATE OR REPLACE VIEW v1 AS SELECT id, name, score FROM base;
CREATE OR REPLACE VIEW v1 AS SELECT id FROM base;
CREATE OR REPLACE VIEW v1 AS SELECT id, score AS name, score FROM base;
CREATE OR REPLACE VIEW v1 AS SELECT id, name AS label, score FROM base;
CREATE OR REPLACE VIEW v1 AS SELECT id, name, score, 1 AS extra FROM base;
CREATE OR REPLACE VIEW v1 AS SELECT id, name, score FROM base;
CREATE VIEW bad1 AS SELECT * FROM nosuch;
CREATE VIEW bad2 AS SELECT nosuch FROM base;
CREATE VIEW bad3 (a, b, c) AS SELECT id FROM base;
CREATE VIEW nosuchschema.bad4 AS SELECT 1;
CREATE VIEW v4 AS SELECT 1 AS one, 'x'::text AS two;
CREATE VIEW base AS SELECT 1;
CREATE MATERIALIZED VIEW mv1 AS SELECT id, score FROM base;
CREATE MATERIALIZED VIEW mv1 AS SELECT id FROM base;
CREATE MATERIALIZED VIEW IF NOT EXISTS mv1 AS SELECT id FROM base;
SELECT table_name, table_type FROM information_schema.tables
  WHERE table_schema = 'public' ORDER BY table_name;
SELECT table_name, is_updatable, check_option FROM information_schema.views
  WHERE table_schema = 'public' ORDER BY table_name;
SELECT table_name, column_name, data_type FROM information_schema.columns
  WHERE table_name IN ('v1', 'v3', 'v4') ORDER BY table_name, ordinal_position;
SELECT name, materialized FROM cowcat_catalog.views ORDER BY name;
SELECT object, referenced FROM cowcat_catalog.dependencies ORDER BY object, referenced;
-- dependents hold their tables and columns
DROP TABLE base;
ALTER TABLE base DROP COLUMN name;
ALTER TABLE base DROP COLUMN score;
ALTER TABLE base ADD COLUMN extra int;
DROP VIEW v1;
DROP VIEW v2;
DROP VIEW v1;
DROP VIEW IF EXISTS v1, nosuch;
DROP VIEW mv1;
DROP MATERIALIZED VIEW mv1;
DROP VIEW nosuch;
DROP VIEW base;
DROP TABLE base CASCADE;
SELECT table_name FROM information_schema.views WHERE table_schema = 'public' ORDER BY table_name;
SELECT count(*) FROM cowcat_catalog.dependencies;
