//! Binding COPY ... FROM STDIN / TO STDOUT and its options.

use super::*;

impl Binder<'_> {
    pub fn bind_copy(&mut self, s: &pb::CopyStmt) -> Result<Statement> {
        if !s.filename.is_empty() || s.is_program {
            return Err(SqlError::unsupported(
                "COPY to or from a server file or program (use STDIN/STDOUT)",
            ));
        }
        if s.where_clause.is_some() {
            return Err(SqlError::unsupported("COPY ... WHERE"));
        }
        let format = self.copy_format(s)?;
        if let Some(q) = s.query.as_deref() {
            // The grammar only allows TO here.
            let query = match self.bind_statement(q)? {
                Statement::Query(q) => q,
                _ => {
                    return Err(SqlError::unsupported(
                        "COPY (INSERT/UPDATE/DELETE ... RETURNING) TO",
                    ))
                }
            };
            return Ok(Statement::CopyQuery(Box::new(
                crate::sql::statement::CopyQuery { query, format },
            )));
        }
        let rel = s
            .relation
            .as_ref()
            .ok_or_else(|| SqlError::internal("COPY without table"))?;
        let table = self.table(rel)?;
        let mut columns = Vec::new();
        for n in names(&s.attlist) {
            let i = table.column_index(&n).ok_or_else(|| {
                SqlError::new(
                    code::UNDEFINED_COLUMN,
                    format!(
                        "column \"{n}\" of relation \"{}\" does not exist",
                        table.name
                    ),
                )
            })?;
            columns.push(i);
        }
        if columns.is_empty() {
            columns = (0..table.columns.len()).collect();
        }
        Ok(Statement::Copy(Box::new(Copy {
            table,
            columns,
            from: s.is_from,
            format,
        })))
    }

    /// COPY's format and its options.
    fn copy_format(&mut self, s: &pb::CopyStmt) -> Result<CopyFormat> {
        let opt_str = |d: &pb::DefElem| -> Option<String> {
            match d.arg.as_deref().and_then(|a| a.node.as_ref()) {
                Some(N::String(x)) => Some(x.sval.clone()),
                Some(N::AConst(c)) => match &c.val {
                    Some(pb::a_const::Val::Sval(x)) => Some(x.sval.clone()),
                    Some(pb::a_const::Val::Ival(i)) => Some(i.ival.to_string()),
                    Some(pb::a_const::Val::Boolval(b)) => Some(b.boolval.to_string()),
                    _ => None,
                },
                Some(N::Boolean(b)) => Some(b.boolval.to_string()),
                Some(N::Integer(i)) => Some(i.ival.to_string()),
                None => None,
                _ => None,
            }
        };
        let mut format = CopyFormat::text();
        let mut overrides: Vec<(String, Option<String>)> = Vec::new();
        for o in &s.options {
            let Some(N::DefElem(d)) = &o.node else {
                continue;
            };
            let v = opt_str(d);
            match d.defname.as_str() {
                "format" => match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("text") => format = CopyFormat::text(),
                    Some("csv") => format = CopyFormat::csv(),
                    Some("binary") => format = CopyFormat::binary(),
                    other => {
                        return Err(SqlError::new(
                            code::INVALID_PARAMETER_VALUE,
                            format!("COPY format \"{}\" not recognized", other.unwrap_or("")),
                        ))
                    }
                },
                "freeze" => {}
                "delimiter" | "null" | "header" | "quote" | "escape" => {
                    overrides.push((d.defname.clone(), v))
                }
                "encoding" => {
                    let e = v
                        .unwrap_or_default()
                        .to_ascii_uppercase()
                        .replace(['-', '_'], "");
                    if e != "UTF8" {
                        return Err(SqlError::unsupported("COPY ENCODING other than UTF8"));
                    }
                }
                other => return Err(SqlError::unsupported(format!("COPY option {other}"))),
            }
        }
        for (k, v) in overrides {
            let one_char = |v: &Option<String>, what: &str| -> Result<char> {
                let s = v.clone().unwrap_or_default();
                let mut it = s.chars();
                match (it.next(), it.next()) {
                    (Some(c), None) => Ok(c),
                    _ => Err(SqlError::new(
                        code::FEATURE_NOT_SUPPORTED,
                        format!("COPY {what} must be a single one-byte character"),
                    )),
                }
            };
            if format.binary && matches!(k.as_str(), "delimiter" | "null" | "header") {
                return Err(SqlError::new(
                    // PostgreSQL 15's codes: HEADER is "not supported".
                    if k == "header" {
                        code::FEATURE_NOT_SUPPORTED
                    } else {
                        code::SYNTAX_ERROR
                    },
                    format!("cannot specify {} in BINARY mode", k.to_ascii_uppercase()),
                ));
            }
            if !format.csv && matches!(k.as_str(), "quote" | "escape") {
                return Err(SqlError::new(
                    code::FEATURE_NOT_SUPPORTED,
                    format!("COPY {k} available only in CSV mode"),
                ));
            }
            match k.as_str() {
                "delimiter" => format.delimiter = one_char(&v, "delimiter")?,
                "null" => format.null = v.unwrap_or_default(),
                "header" => {
                    let on = matches!(
                        v.as_deref().map(str::to_ascii_lowercase).as_deref(),
                        None | Some("true" | "on" | "1")
                    );
                    if on && !format.csv {
                        return Err(SqlError::unsupported("COPY HEADER in text format"));
                    }
                    format.header = on;
                }
                "quote" => format.quote = one_char(&v, "quote")?,
                "escape" => format.escape = one_char(&v, "escape")?,
                _ => {}
            }
        }
        Ok(format)
    }
}
