//! Binding CREATE SEQUENCE and its options, with PostgreSQL's defaults
//! and bounds checks.

use super::*;

impl Binder<'_> {
    pub fn bind_create_sequence(&mut self, s: &pb::CreateSeqStmt) -> Result<Statement> {
        let rel = s
            .sequence
            .as_ref()
            .ok_or_else(|| SqlError::internal("CREATE SEQUENCE without name"))?;
        let schema = if rel.schemaname.is_empty() {
            "public".to_string()
        } else {
            rel.schemaname.clone()
        };
        if rel.relpersistence == "t" {
            return Err(SqlError::unsupported("temporary sequences"));
        }
        let mut seq = crate::catalog::Sequence {
            oid: 0,
            schema,
            name: rel.relname.clone(),
            start: 1,
            increment: 1,
            min: 1,
            max: i64::MAX,
            cycle: false,
            owned_by: None,
            type_oid: 20,
        };
        self.sequence_options(&mut seq, &s.options)?;
        Ok(Statement::CreateSequence {
            seq,
            if_not_exists: s.if_not_exists,
        })
    }

    /// The sequence of identity column `col` (int2, int4 or int8), with
    /// the options in parentheses after GENERATED ... AS IDENTITY.
    pub(super) fn identity_sequence(
        &mut self,
        col: &crate::catalog::Column,
        cd: &pb::ColumnDef,
        name: &str,
    ) -> Result<crate::catalog::Sequence> {
        use crate::types::Type;
        let max = match col.ty.ty {
            Type::Int2 => i64::from(i16::MAX),
            Type::Int4 => i64::from(i32::MAX),
            Type::Int8 => i64::MAX,
            _ => {
                return Err(SqlError::new(
                    code::INVALID_PARAMETER_VALUE,
                    "identity column type must be smallint, integer, or bigint",
                ))
            }
        };
        let mut seq = crate::catalog::Sequence {
            oid: 0,
            schema: "public".into(),
            name: name.to_string(),
            start: 1,
            increment: 1,
            min: 1,
            max,
            cycle: false,
            owned_by: None,
            type_oid: col.ty.ty.oid(),
        };
        for c in &cd.constraints {
            if let Some(N::Constraint(con)) = &c.node {
                if con.contype == pb::ConstrType::ConstrIdentity as i32 {
                    self.sequence_options(&mut seq, &con.options)?;
                }
            }
        }
        Ok(seq)
    }

    /// Applies CREATE SEQUENCE's options (or an identity column's) to
    /// `seq`, with PostgreSQL's defaults and bounds checks.
    fn sequence_options(
        &mut self,
        seq: &mut crate::catalog::Sequence,
        options: &[pb::Node],
    ) -> Result<()> {
        let (mut start, mut min, mut max) = (None, None, None);
        for o in options {
            let Some(N::DefElem(d)) = &o.node else {
                continue;
            };
            let num = || -> Result<Option<i64>> {
                Ok(match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                    Some(N::Integer(i)) => Some(i64::from(i.ival)),
                    Some(N::Float(f)) => Some(f.fval.parse().map_err(|_| {
                        SqlError::new(
                            code::NUMERIC_VALUE_OUT_OF_RANGE,
                            "value out of range for sequence",
                        )
                    })?),
                    Some(N::AConst(c)) => match &c.val {
                        Some(pb::a_const::Val::Ival(i)) => Some(i64::from(i.ival)),
                        _ => None,
                    },
                    _ => None,
                })
            };
            match d.defname.as_str() {
                "start" => start = num()?,
                "increment" => seq.increment = num()?.unwrap_or(1),
                "minvalue" => min = Some(num()?),
                "maxvalue" => max = Some(num()?),
                "cycle" => {
                    seq.cycle = bool_literal(d.arg.as_deref().unwrap_or(&pb::Node { node: None }))
                        .unwrap_or(true)
                }
                "cache" => {}
                "as" => {
                    let t = match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                        Some(N::TypeName(t)) => resolve_type(self.catalog, t)?.ty,
                        _ => crate::types::Type::Int8,
                    };
                    seq.type_oid = t.oid();
                    seq.max = match t {
                        crate::types::Type::Int2 => i64::from(i16::MAX),
                        crate::types::Type::Int4 => i64::from(i32::MAX),
                        crate::types::Type::Int8 => i64::MAX,
                        _ => {
                            return Err(SqlError::new(
                                code::INVALID_PARAMETER_VALUE,
                                "sequence type must be smallint, integer, or bigint",
                            ))
                        }
                    };
                }
                other => {
                    return Err(SqlError::unsupported(format!(
                        "CREATE SEQUENCE option {other}"
                    )))
                }
            }
        }
        if seq.increment == 0 {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                "INCREMENT must not be zero",
            ));
        }
        let (tmin, tmax) = match seq.type_oid() {
            21 => (i64::from(i16::MIN), i64::from(i16::MAX)),
            23 => (i64::from(i32::MIN), i64::from(i32::MAX)),
            _ => (i64::MIN, i64::MAX),
        };
        if seq.increment < 0 {
            seq.min = tmin;
            seq.max = -1;
        }
        if let Some(m) = min {
            seq.min = m.unwrap_or(if seq.increment > 0 { 1 } else { tmin });
        }
        if let Some(m) = max {
            seq.max = m.unwrap_or(if seq.increment > 0 { tmax } else { -1 });
        }
        seq.start = start.unwrap_or(if seq.increment > 0 { seq.min } else { seq.max });
        if seq.min >= seq.max {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!(
                    "MINVALUE ({}) must be less than MAXVALUE ({})",
                    seq.min, seq.max
                ),
            ));
        }
        if seq.start < seq.min {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!(
                    "START value ({}) cannot be less than MINVALUE ({})",
                    seq.start, seq.min
                ),
            ));
        }
        if seq.start > seq.max {
            return Err(SqlError::new(
                code::INVALID_PARAMETER_VALUE,
                format!(
                    "START value ({}) cannot be greater than MAXVALUE ({})",
                    seq.start, seq.max
                ),
            ));
        }
        Ok(())
    }
}
