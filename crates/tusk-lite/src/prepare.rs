//! SQL-level PREPARE, EXECUTE and DEALLOCATE: the statement is parsed and
//! checked (bound) at PREPARE, and bound again against the catalog of the
//! moment at each EXECUTE, as every statement is.

use pg_query::protobuf::{self as pb, node::Node as N};

use crate::error::{code, Result, SqlError};
use crate::exec::Exec;
use crate::session::{Outcome, Session};
use crate::sql::bind::{resolve_type, Binder};
use crate::sql::plan::Plan;
use crate::types::{ColType, Type};

/// A statement prepared with PREPARE.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub query: pb::Node,
    pub types: Vec<Type>,
}

impl Session {
    /// Handles PREPARE/EXECUTE/DEALLOCATE; None for any other statement.
    pub(crate) fn sql_prepared(&mut self, node: &pb::Node) -> Option<Result<Outcome>> {
        match &node.node {
            Some(N::PrepareStmt(s)) => Some(self.prepare(s)),
            Some(N::ExecuteStmt(s)) => Some(self.execute_prepared(s)),
            Some(N::DeallocateStmt(s)) => Some(self.deallocate(s)),
            _ => None,
        }
    }

    fn prepare(&mut self, s: &pb::PrepareStmt) -> Result<Outcome> {
        if self.prepared.contains_key(&s.name) {
            return Err(SqlError::new(
                "42P05",
                format!("prepared statement \"{}\" already exists", s.name),
            ));
        }
        let query = s
            .query
            .as_deref()
            .cloned()
            .ok_or_else(|| SqlError::internal("PREPARE without a statement"))?;
        if matches!(
            query.node,
            Some(N::PrepareStmt(_) | N::ExecuteStmt(_) | N::DeallocateStmt(_))
        ) {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                "syntax error at or near \"PREPARE\"",
            ));
        }
        let mut declared = Vec::new();
        for t in &s.argtypes {
            let Some(N::TypeName(tn)) = &t.node else {
                return Err(SqlError::internal("PREPARE argument type"));
            };
            declared.push(resolve_type(&self.current_catalog(), tn)?.ty);
        }
        let (types, _, _) = self.describe(&query, &declared)?;
        let text = pg_query::protobuf::ParseResult {
            version: 0,
            stmts: vec![pb::RawStmt {
                stmt: Some(Box::new(pb::Node {
                    node: Some(N::PrepareStmt(Box::new(s.clone()))),
                })),
                stmt_location: 0,
                stmt_len: 0,
            }],
        }
        .deparse(Default::default())
        .unwrap_or_default();
        self.info
            .prepared
            .lock()
            .insert(s.name.clone(), (text, true));
        self.prepared
            .insert(s.name.clone(), Prepared { query, types });
        Ok(Outcome::tag("PREPARE"))
    }

    fn execute_prepared(&mut self, s: &pb::ExecuteStmt) -> Result<Outcome> {
        let p = self.prepared.get(&s.name).cloned().ok_or_else(|| {
            SqlError::new(
                "26000",
                format!("prepared statement \"{}\" does not exist", s.name),
            )
        })?;
        if s.params.len() != p.types.len() {
            return Err(SqlError::new(
                code::SYNTAX_ERROR,
                format!(
                    "wrong number of parameters for prepared statement \"{}\"",
                    s.name
                ),
            )
            .with_detail(format!(
                "Expected {} parameters but got {}.",
                p.types.len(),
                s.params.len()
            )));
        }
        let catalog = self.engine.catalog_for_session(self.txn.as_ref());
        let mut exprs = Vec::with_capacity(s.params.len());
        {
            let mut b = Binder::new(&catalog, Vec::new());
            for (i, (arg, ty)) in s.params.iter().zip(&p.types).enumerate() {
                let e = b.bind_expr(arg)?;
                exprs.push(b.assign(e, ColType::plain(*ty), &format!("${}", i + 1))?);
            }
        }
        let values = {
            let engine = self.engine.clone();
            let info = self.info.clone();
            let txn = self.ensure_txn();
            let snapshot = engine.statement_snapshot(txn);
            let mut ex = Exec {
                engine: &engine,
                txn,
                snapshot,
                params: &[],
                outer: Vec::new(),
                session: &info,
                ri: Default::default(),
                initplans: Default::default(),
            };
            ex.run(&Plan::Values(vec![exprs]))?
                .pop()
                .unwrap_or_default()
        };
        self.execute(&p.query, &p.types, &values)
    }

    fn deallocate(&mut self, s: &pb::DeallocateStmt) -> Result<Outcome> {
        if s.isall {
            // Protocol-level named statements go too, as in PostgreSQL.
            self.prepared.clear();
            self.info.prepared.lock().clear();
            if self.discarded.is_none() {
                self.discarded = Some(crate::session::Discarded::Statements);
            }
        } else if self.prepared.remove(&s.name).is_some() {
            self.info.prepared.lock().remove(&s.name);
        } else if self.info.prepared.lock().remove(&s.name).is_some() {
            // A protocol-level statement: SQL and protocol statements
            // share one namespace in PostgreSQL.
            self.discarded = Some(crate::session::Discarded::One(s.name.clone()));
        } else {
            return Err(SqlError::new(
                "26000",
                format!("prepared statement \"{}\" does not exist", s.name),
            ));
        }
        Ok(Outcome::tag(if s.isall {
            "DEALLOCATE ALL"
        } else {
            "DEALLOCATE"
        }))
    }
}
