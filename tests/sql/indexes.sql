-- indexes: CREATE INDEX (unique, named, unnamed, multi-column, IF NOT EXISTS), DROP INDEX
CREATE TABLE items (id int PRIMARY KEY, sku text, qty int, note text);
CREATE INDEX items_sku_idx ON items (sku);
CREATE UNIQUE INDEX items_sku_qty_key ON items (sku, qty);
CREATE INDEX ON items (qty);
CREATE INDEX ON items (qty);
CREATE INDEX ON items (sku, note);
CREATE INDEX items_sku_idx ON items (note);
CREATE INDEX IF NOT EXISTS items_sku_idx ON items (note);
CREATE INDEX items_desc_idx ON items (qty DESC);
CREATE INDEX items_btree_idx ON items USING btree (note);
-- errors
CREATE INDEX bad1 ON nosuch (a);
CREATE INDEX bad2 ON items (nosuch);
CREATE INDEX bad3 ON items (sku, nosuch);
CREATE INDEX items ON items (sku);
CREATE INDEX nosuchschema.bad4 ON items (sku);
CREATE VIEW items_v AS SELECT id, sku FROM items;
CREATE INDEX bad5 ON items_v (sku);
CREATE INDEX bad6 ON items_sku_idx (sku);
-- the catalog
SELECT name, table_name FROM cowcat_catalog.indexes ORDER BY name;
SELECT kind, name FROM cowcat_catalog.objects WHERE schema = 'public' ORDER BY kind, name;
SHOW INDEXES;
-- an index depends on its table and columns
ALTER TABLE items DROP COLUMN note;
ALTER TABLE items DROP COLUMN note CASCADE;
SELECT name FROM cowcat_catalog.indexes ORDER BY name;
DROP INDEX items_sku_idx;
DROP INDEX items_sku_idx;
DROP INDEX IF EXISTS items_sku_idx;
DROP INDEX items;
DROP INDEX items_qty_idx, items_qty_idx1;
-- a table and a relation of another kind share one namespace
CREATE TABLE items_desc_idx (a int);
CREATE VIEW items_desc_idx AS SELECT 1;
DROP TABLE items;
SELECT name FROM cowcat_catalog.indexes ORDER BY name;
SELECT count(*) FROM cowcat_catalog.indexes;
