-- ALTER ROLE: attributes, passwords and who may change them
CREATE ROLE alice LOGIN PASSWORD 'secret';
CREATE ROLE bob;
SELECT name, login, superuser FROM cowcat_catalog.roles WHERE name IN ('alice', 'bob') ORDER BY name;
ALTER ROLE bob LOGIN CREATEDB;
ALTER USER bob WITH NOLOGIN PASSWORD 'x';
ALTER ROLE bob PASSWORD NULL;
ALTER ROLE bob PASSWORD '';
SELECT name, login, superuser FROM cowcat_catalog.roles WHERE name IN ('alice', 'bob') ORDER BY name;
-- errors
ALTER ROLE nosuch LOGIN;
ALTER ROLE bob LOGIN NOLOGIN;
ALTER ROLE bob CONNECTION LIMIT 3;
ALTER ROLE cowcat_system NOSUPERUSER;
-- a role without CREATEROLE may change only its own password
\c - alice
ALTER ROLE alice PASSWORD 'new secret';
ALTER ROLE alice CREATEDB;
ALTER ROLE bob PASSWORD 'x';
ALTER ROLE cowcat_system PASSWORD 'x';
ALTER ROLE CURRENT_USER PASSWORD 'newer';
\c - cowcat_system
ALTER ROLE alice CREATEROLE;
ALTER ROLE cowcat_system NOSUPERUSER;
ALTER ROLE cowcat_system PASSWORD 'system secret';
\c - alice
ALTER ROLE bob CREATEDB;
ALTER ROLE bob SUPERUSER;
\c - cowcat_system
ALTER ROLE bob SUPERUSER;
\c - alice
ALTER ROLE bob NOSUPERUSER;
