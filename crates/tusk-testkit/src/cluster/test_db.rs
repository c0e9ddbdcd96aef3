//! A database of its own for one test.

use std::sync::Arc;

use crate::error::Result;
use crate::lite::LiteServer;

use super::Inner;

#[derive(Debug)]
enum Backend {
    Cluster(Arc<Inner>),
    /// A tusk-lite server of its own (see [`crate::lite`]).
    Lite(LiteServer),
}

/// A fresh database made by [`Cluster::database`](crate::Cluster::database);
/// dropped (`DROP DATABASE .. WITH (FORCE)`, which disconnects its clients)
/// when this value is dropped. It keeps its cluster running until then.
/// Under `TUSK_TESTKIT_LITE` ([`crate::lite`]), [`crate::db`] gives one
/// backed by a tusk-lite server instead, stopped when this value drops.
#[derive(Debug)]
pub struct TestDb {
    backend: Backend,
    name: String,
}

impl TestDb {
    pub(super) fn new(cluster: Arc<Inner>, name: String) -> TestDb {
        TestDb {
            backend: Backend::Cluster(cluster),
            name,
        }
    }

    pub(crate) fn lite(server: LiteServer, name: String) -> TestDb {
        TestDb {
            backend: Backend::Lite(server),
            name,
        }
    }

    /// Whether this database is a tusk-lite server, not PostgreSQL.
    pub fn is_lite(&self) -> bool {
        matches!(self.backend, Backend::Lite(_))
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `postgresql://postgres@127.0.0.1:<port>/<name>` (TCP).
    pub fn url(&self) -> String {
        match &self.backend {
            Backend::Cluster(c) => c.url(&self.name),
            Backend::Lite(l) => l.url(&self.name),
        }
    }

    /// The same database over the cluster's unix socket (TCP for
    /// tusk-lite, which listens on TCP only).
    pub fn unix_url(&self) -> String {
        match &self.backend {
            Backend::Cluster(c) => c.unix_url(&self.name),
            Backend::Lite(l) => l.url(&self.name),
        }
    }

    /// The TCP port of the cluster.
    pub fn port(&self) -> u16 {
        match &self.backend {
            Backend::Cluster(c) => c.port(),
            Backend::Lite(l) => l.port(),
        }
    }

    /// Runs SQL as the superuser in this database (see
    /// [`Cluster::psql`](crate::Cluster::psql)).
    pub fn psql(&self, sql: &str) -> Result<String> {
        match &self.backend {
            Backend::Cluster(c) => c.psql(&self.name, sql),
            Backend::Lite(l) => super::psql_conninfo(&l.url(&self.name), sql),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // A stopped cluster cannot drop it; its directory goes with the
        // cluster anyway unless the cluster is persistent.
        if let Backend::Cluster(c) = &self.backend {
            let _ = c.drop_database(&self.name);
        }
    }
}
