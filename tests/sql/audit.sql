-- audit: every DDL leaves an audit event; long names and ALTER SYSTEM text fit
CREATE TABLE a_table_whose_name_is_much_longer_than_thirty_two_characters (a int);
\c - cowcat_system
ALTER SYSTEM SET max_materialized_views = 4271670;
ALTER SYSTEM RESET max_materialized_views;
\c - cowcat
CREATE SCHEMA another_schema_with_a_rather_long_name_for_the_audit_log;
DROP TABLE a_table_whose_name_is_much_longer_than_thirty_two_characters;
SELECT event_type, object_type, details FROM cowcat_catalog.audit_events ORDER BY id;
SELECT count(*) FROM cowcat_catalog.audit_events;
