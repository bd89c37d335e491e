-- The two database roles (docs/operations.md, Database roles), made when the postgres container
-- first initialises its volume (/docker-entrypoint-initdb.d, run as the superuser on POSTGRES_DB).
-- utilis_owner owns the database and every table (migrations run as it); utilis_app is what the
-- web app, the worker and beat connect as: it owns nothing, and core.db_roles (after every
-- migrate) grants it SELECT, INSERT only on the ledger and the audit tables.
-- These passwords suit the demo compose file only: change them for any shared server.
CREATE ROLE utilis_owner LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD 'utilis_owner';
CREATE ROLE utilis_app LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB NOBYPASSRLS PASSWORD 'utilis_app';
ALTER DATABASE utilis OWNER TO utilis_owner;
-- PostgreSQL 15+: the public schema belongs to the database owner; nobody else creates in it.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
