-- builtin relations: information_schema and cowcat_catalog with WHERE / ORDER BY / LIMIT / count(*)
CREATE SCHEMA app;
CREATE TABLE app.users (id int PRIMARY KEY, email varchar(100) NOT NULL UNIQUE, age smallint);
CREATE TABLE app.orders (id bigint PRIMARY KEY, user_id int REFERENCES app.users (id), total numeric(12,2) DEFAULT 0);
CREATE VIEW app.big_orders AS SELECT id, total FROM app.orders WHERE total > 100;
CREATE INDEX orders_user_idx ON app.orders (user_id);
-- information_schema
SELECT table_schema, table_name, table_type FROM information_schema.tables
  WHERE table_schema = 'app' ORDER BY table_name;
SELECT table_catalog, table_name, is_insertable_into FROM information_schema.tables
  WHERE table_schema = 'app' ORDER BY table_name DESC;
SELECT table_name, column_name, ordinal_position, data_type, is_nullable
  FROM information_schema.columns WHERE table_schema = 'app' ORDER BY table_name, ordinal_position;
SELECT column_name, character_maximum_length, numeric_precision, numeric_scale
  FROM information_schema.columns WHERE table_schema = 'app' AND table_name = 'orders'
  ORDER BY ordinal_position;
SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = 'app';
SELECT schema_name FROM information_schema.schemata WHERE schema_name IN ('app', 'public') ORDER BY 1;
SELECT constraint_name, table_name, constraint_type, is_deferrable, initially_deferred
  FROM information_schema.table_constraints
  WHERE table_schema = 'app' AND constraint_type <> 'CHECK' ORDER BY constraint_name;
SELECT constraint_name, column_name, ordinal_position, position_in_unique_constraint
  FROM information_schema.key_column_usage WHERE table_schema = 'app' ORDER BY constraint_name;
-- WHERE forms, ORDER BY forms, LIMIT / OFFSET, count
SELECT count(*) FROM information_schema.columns WHERE table_schema = 'app';
SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'app' AND table_type = 'VIEW';
SELECT column_name FROM information_schema.columns
  WHERE table_schema = 'app' AND (data_type = 'integer' OR data_type = 'bigint') ORDER BY 1;
SELECT column_name FROM information_schema.columns
  WHERE table_schema = 'app' AND column_name LIKE '%id' ORDER BY table_name, column_name;
SELECT column_name FROM information_schema.columns
  WHERE table_schema = 'app' AND column_name IN ('age', 'total', 'nosuch') ORDER BY column_name;
SELECT table_name, column_name FROM information_schema.columns
  WHERE table_schema = 'app' AND ordinal_position BETWEEN 2 AND 3 ORDER BY 1, 2;
SELECT column_name, column_default FROM information_schema.columns
  WHERE table_schema = 'app' AND column_default IS NOT NULL;
SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'app'
  ORDER BY table_name DESC, ordinal_position LIMIT 3;
SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'app'
  ORDER BY table_name, ordinal_position LIMIT 2 OFFSET 3;
SELECT c.column_name AS col FROM information_schema.columns c
  WHERE c.table_name = 'users' ORDER BY col;
SELECT table_name FROM information_schema.tables WHERE table_schema = 'app' ORDER BY 2;
SELECT nosuch FROM information_schema.tables;
SELECT * FROM information_schema.nosuch;
SELECT table_name FROM information_schema.tables WHERE table_name = 1;
-- cowcat_catalog
SELECT kind, schema, name, owner FROM cowcat_catalog.objects WHERE schema = 'app' ORDER BY kind, name;
SELECT schema, name, owner FROM cowcat_catalog.tables WHERE schema = 'app' ORDER BY name;
SELECT name, materialized, definition FROM cowcat_catalog.views WHERE schema = 'app';
SELECT name, table_name FROM cowcat_catalog.indexes WHERE schema = 'app';
SELECT relation, position, name, type, nullable, "default" FROM cowcat_catalog.columns
  WHERE schema = 'app' ORDER BY relation, position;
SELECT name, owner FROM cowcat_catalog.schemas ORDER BY name;
SELECT name, owner FROM cowcat_catalog.databases;
SELECT name, superuser, login FROM cowcat_catalog.roles ORDER BY name;
SELECT object, object_kind, referenced, referenced_kind FROM cowcat_catalog.dependencies
  ORDER BY object, referenced;
SELECT count(*) FROM cowcat_catalog.objects WHERE kind = 'table';
SELECT create_sql FROM cowcat_catalog.tables WHERE name = 'users';
SELECT name FROM cowcat_catalog.nosuch;
-- unqualified, through the search_path
SET search_path = cowcat_catalog, public;
SELECT name FROM schemas ORDER BY name LIMIT 2;
RESET search_path;
SELECT name FROM schemas;
-- SHOW forms of cowcat
SHOW TABLES FROM app;
SHOW VIEWS FROM app;
SHOW INDEXES FROM app;
SHOW CREATE TABLE app.orders;
SHOW CREATE VIEW app.big_orders;
-- user relations hold no rows here
SELECT * FROM app.users;
