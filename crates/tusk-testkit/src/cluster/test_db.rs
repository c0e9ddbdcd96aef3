//! A database of its own for one test.

use std::sync::Arc;

use crate::error::Result;

use super::Inner;

/// A fresh database made by [`Cluster::database`](crate::Cluster::database);
/// dropped (`DROP DATABASE .. WITH (FORCE)`, which disconnects its clients)
/// when this value is dropped. It keeps its cluster running until then.
#[derive(Debug)]
pub struct TestDb {
    cluster: Arc<Inner>,
    name: String,
}

impl TestDb {
    pub(super) fn new(cluster: Arc<Inner>, name: String) -> TestDb {
        TestDb { cluster, name }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `postgresql://postgres@127.0.0.1:<port>/<name>` (TCP).
    pub fn url(&self) -> String {
        self.cluster.url(&self.name)
    }

    /// The same database over the cluster's unix socket.
    pub fn unix_url(&self) -> String {
        self.cluster.unix_url(&self.name)
    }

    /// The TCP port of the cluster.
    pub fn port(&self) -> u16 {
        self.cluster.port()
    }

    /// Runs SQL as the superuser in this database (see
    /// [`Cluster::psql`](crate::Cluster::psql)).
    pub fn psql(&self, sql: &str) -> Result<String> {
        self.cluster.psql(&self.name, sql)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // A stopped cluster cannot drop it; its directory goes with the
        // cluster anyway unless the cluster is persistent.
        let _ = self.cluster.drop_database(&self.name);
    }
}
