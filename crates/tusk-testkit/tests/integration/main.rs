//! Integration tests of the testkit against real PostgreSQL (and PgBouncer):
//! one binary, so the shared cluster starts once.

mod auth;
mod databases;
mod lifecycle;
mod pgbouncer;
mod proxy;
mod wire;
