//! The history tables: which migrations (and seeds) ran, when, for how
//! long, by whom, with what checksum.
//!
//! ```sql
//! CREATE TABLE public.tusk_migrations (
//!     version     bigint PRIMARY KEY,
//!     name        text NOT NULL,
//!     checksum    text NOT NULL,          -- SHA-256 of the up script, line endings normalized
//!     applied_at  timestamptz NOT NULL DEFAULT now(),
//!     duration_ms double precision NOT NULL,
//!     applied_by  text NOT NULL DEFAULT current_user
//! );
//! CREATE TABLE public.tusk_seeds (name text PRIMARY KEY, checksum .., applied_at .., duration_ms .., applied_by ..);
//! ```
//!
//! The table (and its schema) is created only when missing, so a role with
//! just `INSERT, SELECT, DELETE, UPDATE` on an existing table can migrate.

use tusk::{Connection, Executor, SimpleQueryMessage};

use crate::plan::Applied;
use crate::quote::{ident, literal};

/// Which history a table keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Migrations,
    Seeds,
}

/// A history table's place.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    pub schema: String,
    pub name: String,
    pub kind: Kind,
}

impl Table {
    pub fn qualified(&self) -> String {
        format!("{}.{}", ident(&self.schema), ident(&self.name))
    }

    pub async fn exists(&self, conn: &Connection) -> Result<bool, tusk::Error> {
        let sql = format!(
            "SELECT to_regclass({}) IS NOT NULL",
            literal(&self.qualified())
        );
        Ok(first_text(&conn.simple_query(&sql).await?).as_deref() == Some("t"))
    }

    /// Creates the schema and table where missing (call under the lock).
    pub async fn ensure(&self, conn: &Connection) -> Result<(), tusk::Error> {
        if self.exists(conn).await? {
            return Ok(());
        }
        let has_schema = format!(
            "SELECT to_regnamespace({}) IS NOT NULL",
            literal(&ident(&self.schema))
        );
        if first_text(&conn.simple_query(&has_schema).await?).as_deref() != Some("t") {
            conn.execute_script(&format!(
                "CREATE SCHEMA IF NOT EXISTS {}",
                ident(&self.schema)
            ))
            .await?;
        }
        let key = match self.kind {
            Kind::Migrations => "version bigint PRIMARY KEY,\n  name text NOT NULL",
            Kind::Seeds => "name text PRIMARY KEY",
        };
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {} (\n  {key},\n  checksum text NOT NULL,\n  \
             applied_at timestamptz NOT NULL DEFAULT now(),\n  duration_ms double precision NOT NULL,\n  \
             applied_by text NOT NULL DEFAULT current_user\n)",
            self.qualified()
        );
        conn.execute_script(&sql).await
    }

    /// Every row, by version (seeds: by name, version 0).
    pub async fn read(&self, conn: &Connection) -> Result<Vec<Applied>, tusk::Error> {
        if !self.exists(conn).await? {
            return Ok(Vec::new());
        }
        let (key, order) = match self.kind {
            Kind::Migrations => ("version::text, name", "version"),
            Kind::Seeds => ("'0', name", "name"),
        };
        let sql = format!(
            "SELECT {key}, checksum, applied_at::text, duration_ms::text, applied_by FROM {} ORDER BY {order}",
            self.qualified()
        );
        let mut out = Vec::new();
        for m in conn.simple_query(&sql).await? {
            if let SimpleQueryMessage::Row(r) = m {
                let text = |i: usize| -> Result<String, tusk::Error> {
                    Ok(r.get_text(i)?.unwrap_or_default().to_string())
                };
                out.push(Applied {
                    version: text(0)?.parse().unwrap_or_default(),
                    name: text(1)?,
                    checksum: text(2)?,
                    applied_at: text(3)?,
                    duration_ms: text(4)?.parse().unwrap_or_default(),
                    applied_by: text(5)?,
                });
            }
        }
        Ok(out)
    }

    pub fn insert_sql(
        &self,
        version: i64,
        name: &str,
        checksum: &str,
        duration_ms: f64,
        applied_by: Option<&str>,
    ) -> String {
        let by = applied_by.map_or_else(|| "current_user".to_string(), literal);
        match self.kind {
            Kind::Migrations => format!(
                "INSERT INTO {} (version, name, checksum, duration_ms, applied_by) VALUES ({version}, {}, {}, {duration_ms}, {by})",
                self.qualified(),
                literal(name),
                literal(checksum)
            ),
            Kind::Seeds => format!(
                "INSERT INTO {} (name, checksum, duration_ms, applied_by) VALUES ({}, {}, {duration_ms}, {by})",
                self.qualified(),
                literal(name),
                literal(checksum)
            ),
        }
    }

    pub fn delete_sql(&self, version: i64) -> String {
        format!("DELETE FROM {} WHERE version = {version}", self.qualified())
    }

    pub fn repair_sql(&self, version: i64, name: &str, checksum: &str) -> String {
        format!(
            "UPDATE {} SET checksum = {}, name = {} WHERE version = {version}",
            self.qualified(),
            literal(checksum),
            literal(name)
        )
    }

    /// SQL that returns one row when `version` (or seed `name`) is recorded.
    pub fn is_recorded_sql(&self, version: i64, name: &str) -> String {
        match self.kind {
            Kind::Migrations => format!(
                "SELECT 1 FROM {} WHERE version = {version}",
                self.qualified()
            ),
            Kind::Seeds => format!(
                "SELECT 1 FROM {} WHERE name = {}",
                self.qualified(),
                literal(name)
            ),
        }
    }
}

/// The first column of the first row, as text.
pub(crate) fn first_text(msgs: &[SimpleQueryMessage]) -> Option<String> {
    msgs.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(r) => r.get_text(0usize).ok().flatten().map(str::to_owned),
        _ => None,
    })
}
