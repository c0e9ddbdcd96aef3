//! Quoting of SQL identifiers and literals, as PostgreSQL's `quote_ident` and
//! `quote_literal` do.

/// Quotes an identifier unless it is a plain lower-case name.
///
/// Keywords are always quoted (a quoted identifier is never wrong), so the
/// result is safe to splice into any SQL text.
#[must_use]
pub fn quote_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if plain && !is_reserved(name) {
        name.to_owned()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// Quotes a string literal (`'it''s'`), with the `E''` form when it holds a
/// backslash, as `quote_literal` does.
#[must_use]
pub fn quote_literal(value: &str) -> String {
    let body = value.replace('\'', "''");
    if body.contains('\\') {
        format!("E'{}'", body.replace('\\', "\\\\"))
    } else {
        format!("'{body}'")
    }
}

/// Words that are quoted even when they look plain: PostgreSQL's reserved,
/// type/function-name and column-name keywords (`left`, `join`, `is`,
/// `like`, `int` ... cannot all stand as a column name in every position;
/// quoting more than needed is harmless).
fn is_reserved(name: &str) -> bool {
    const OTHER: &[&str] = &[
        "authorization",
        "between",
        "bigint",
        "binary",
        "bit",
        "boolean",
        "char",
        "character",
        "coalesce",
        "collation",
        "concurrently",
        "cross",
        "current_schema",
        "dec",
        "decimal",
        "exists",
        "extract",
        "float",
        "freeze",
        "full",
        "greatest",
        "grouping",
        "ilike",
        "inner",
        "inout",
        "int",
        "integer",
        "interval",
        "is",
        "isnull",
        "join",
        "json",
        "json_array",
        "json_arrayagg",
        "json_object",
        "json_objectagg",
        "least",
        "left",
        "like",
        "national",
        "natural",
        "nchar",
        "none",
        "normalize",
        "notnull",
        "nullif",
        "numeric",
        "out",
        "outer",
        "overlaps",
        "overlay",
        "position",
        "precision",
        "real",
        "right",
        "row",
        "setof",
        "similar",
        "smallint",
        "substring",
        "system_user",
        "tablesample",
        "time",
        "timestamp",
        "treat",
        "trim",
        "values",
        "varchar",
        "verbose",
        "xmlattributes",
        "xmlconcat",
        "xmlelement",
        "xmlexists",
        "xmlforest",
        "xmlnamespaces",
        "xmlparse",
        "xmlpi",
        "xmlroot",
        "xmlserialize",
        "xmltable",
    ];
    if OTHER.contains(&name) {
        return true;
    }
    const WORDS: &[&str] = &[
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "current_catalog",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lateral",
        "leading",
        "limit",
        "localtime",
        "localtimestamp",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "placing",
        "primary",
        "references",
        "returning",
        "select",
        "session_user",
        "some",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    ];
    WORDS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert_eq!(quote_ident("pk_post"), "pk_post");
        assert_eq!(quote_ident("Post"), "\"Post\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("user"), "\"user\"");
        for w in ["left", "join", "is", "like", "int", "values"] {
            assert_eq!(quote_ident(w), format!("\"{w}\""));
        }
        assert_eq!(quote_ident("1x"), "\"1x\"");
        assert_eq!(quote_ident(""), "\"\"");
    }

    #[test]
    fn literals() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }
}
