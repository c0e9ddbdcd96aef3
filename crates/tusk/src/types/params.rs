//! Parameters: choosing how each Rust value travels (so that even a cold
//! query is one round trip), encoding Bind, and counting placeholders.

use bytes::BytesMut;
use postgres_types::{ToSql, Type, WrongType};

use crate::error::Error;
use crate::row::Column;
use crate::statement::ParamMode;

/// One query parameter: any `ToSql` value (the one way to pass parameters).
pub type Param<'a> = &'a (dyn ToSql + Sync);

/// Binary candidates, in the order a value's natural type is looked for.
/// Textual types (text, json) are tried first and sent in text format with
/// an unspecified type, so the server infers the type from the query.
const CANDIDATES: &[Type] = &[
    Type::BOOL,
    Type::INT4,
    Type::INT8,
    Type::INT2,
    Type::FLOAT8,
    Type::FLOAT4,
    Type::NUMERIC,
    Type::BYTEA,
    Type::TIMESTAMPTZ,
    Type::TIMESTAMP,
    Type::DATE,
    Type::TIME,
    Type::TIMETZ,
    Type::INTERVAL,
    Type::UUID,
    Type::INET,
    Type::CIDR,
    Type::MACADDR,
    Type::MACADDR8,
    Type::OID,
    Type::CHAR,
    Type::JSONB,
    Type::POINT,
    Type::BOX,
    Type::PATH,
    Type::BIT,
    Type::VARBIT,
    Type::TEXT_ARRAY,
    Type::INT4_ARRAY,
    Type::INT8_ARRAY,
    Type::INT2_ARRAY,
    Type::BOOL_ARRAY,
    Type::FLOAT8_ARRAY,
    Type::FLOAT4_ARRAY,
    Type::NUMERIC_ARRAY,
    Type::BYTEA_ARRAY,
    Type::TIMESTAMPTZ_ARRAY,
    Type::TIMESTAMP_ARRAY,
    Type::DATE_ARRAY,
    Type::TIME_ARRAY,
    Type::INTERVAL_ARRAY,
    Type::UUID_ARRAY,
    Type::INET_ARRAY,
    Type::CIDR_ARRAY,
    Type::JSONB_ARRAY,
    Type::JSON_ARRAY,
    Type::OID_ARRAY,
    Type::CHAR_ARRAY,
    Type::VARCHAR_ARRAY,
];

fn accepts(v: Param<'_>, ty: &Type, scratch: &mut BytesMut) -> bool {
    scratch.clear();
    match v.to_sql_checked(ty, scratch) {
        Ok(_) => true,
        // Accepted, but this value failed to encode: it is still the
        // value's type; the real encode reports the error.
        Err(e) => !e.is::<WrongType>(),
    }
}

/// The natural wire mode of a value, probed with `to_sql_checked`.
pub(crate) fn probe(v: Param<'_>, scratch: &mut BytesMut) -> ParamMode {
    if accepts(v, &Type::TEXT, scratch) {
        return ParamMode::Text(Type::TEXT);
    }
    if accepts(v, &Type::JSON, scratch) {
        return ParamMode::Text(Type::JSON);
    }
    for ty in CANDIDATES {
        if accepts(v, ty, scratch) {
            return ParamMode::Binary(ty.clone());
        }
    }
    ParamMode::Infer
}

fn too_large(what: &str) -> Error {
    Error::conversion(format!("{what} is too large to transmit (over 2 GiB - 1)"))
}

/// Why a Bind could not be encoded.
pub(crate) enum BindError {
    /// The values do not fit the statement (count or a type it declared):
    /// another statement variant may fit them.
    Mismatch(Error),
    /// A value does not accept the type the server chose for its
    /// parameter: no statement for this SQL can take it.
    Unfit(Error),
    /// A value failed to encode (too large, invalid): the caller's error.
    Value(Error),
}

impl From<BindError> for Error {
    fn from(e: BindError) -> Error {
        match e {
            BindError::Mismatch(e) | BindError::Unfit(e) | BindError::Value(e) => e,
        }
    }
}

/// The result formats a Bind asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Formats<'a> {
    /// Every column in binary.
    Binary,
    /// Every column in text ([`Query::text`](crate::Query::text)).
    Text,
    /// Column by column, as the statement's description marks them
    /// (`Column::text`: a type tusk does not decode in binary).
    Columns(&'a [Column]),
}

impl<'a> Formats<'a> {
    /// The formats for a statement described with `columns` (if known),
    /// or all text when `text` is asked for.
    pub(crate) fn of(text: bool, columns: Option<&'a [Column]>) -> Formats<'a> {
        match columns {
            _ if text => Formats::Text,
            Some(c) if c.iter().any(|c| c.text) => Formats::Columns(c),
            _ => Formats::Binary,
        }
    }
}

/// The error for parameter `i` (0-based) whose Rust value does not accept
/// `ty`, the type the statement has for it.
fn wrong_type(i: usize, ty: &Type, source: Box<dyn std::error::Error + Sync + Send>) -> Error {
    if crate::types::registry::is_placeholder(ty) {
        // Not a built-in type, and its lookup in pg_type found nothing.
        return Error::with_source(
            crate::ErrorKind::Conversion,
            format!(
                "parameter ${} has a type tusk could not look up (OID {}); send the value \
                 as text and cast it in SQL (`$1::text::the_type`)",
                i + 1,
                ty.oid()
            ),
            source,
        );
    }
    if Type::from_oid(ty.oid()).is_none() {
        // A user-defined or extension type, looked up: the Rust value's
        // type does not match it (a derive's name, labels or fields).
        return Error::with_source(
            crate::ErrorKind::Conversion,
            format!(
                "cannot send parameter ${} as {}.{} ({}): the Rust type does not accept it \
                 (check #[postgres(name = ...)], the enum's labels or the composite's fields; \
                 after ALTER TYPE elsewhere, call clear_type_cache())",
                i + 1,
                ty.schema(),
                ty.name(),
                kind_name(ty)
            ),
            source,
        );
    }
    Error::with_source(
        crate::ErrorKind::Conversion,
        format!("cannot send parameter ${} as {}", i + 1, ty.name()),
        source,
    )
}

/// What sort of type `ty` is, in words.
pub(crate) fn kind_name(ty: &Type) -> &'static str {
    use postgres_types::Kind;
    match ty.kind() {
        Kind::Enum(_) => "an enum",
        Kind::Composite(_) => "a composite",
        Kind::Domain(_) => "a domain",
        Kind::Array(_) => "an array",
        Kind::Range(_) => "a range",
        Kind::Multirange(_) => "a multirange",
        Kind::Pseudo => "a pseudo-type",
        _ => "a base type",
    }
}

/// Appends a Bind message for `params` to `buf`, telling a mismatch (try
/// another statement variant) from a bad value. On error nothing is left in
/// `buf` beyond its original length.
#[allow(clippy::too_many_arguments)]
pub(crate) fn try_bind(
    buf: &mut BytesMut,
    portal: &str,
    statement: &str,
    modes: &[ParamMode],
    server_types: Option<&[Type]>,
    params: &[Param<'_>],
    formats: Formats<'_>,
) -> Result<(), BindError> {
    let start = buf.len();
    let r = bind_inner(buf, portal, statement, modes, server_types, params, formats);
    if r.is_err() {
        buf.truncate(start);
    }
    r
}

fn bind_inner(
    buf: &mut BytesMut,
    portal: &str,
    statement: &str,
    modes: &[ParamMode],
    server_types: Option<&[Type]>,
    params: &[Param<'_>],
    formats: Formats<'_>,
) -> Result<(), BindError> {
    use BindError::{Mismatch, Unfit, Value};
    if params.len() != modes.len() {
        return Err(Mismatch(Error::conversion(format!(
            "the statement has {} parameters but {} were given",
            modes.len(),
            params.len()
        ))));
    }
    let n = i16::try_from(params.len())
        .map_err(|_| Value(Error::conversion("more than 32767 parameters")))?;
    check_name(portal).map_err(Value)?;
    check_name(statement).map_err(Value)?;
    // Few appends, each of several fields (every append is a call and a
    // copy; one field at a time was about a tenth of a cached point
    // select's client instructions). The bytes are the same.
    let start = buf.len();
    buf.reserve(16 + portal.len() + statement.len() + 10 * modes.len());
    if portal.is_empty() {
        buf.extend_from_slice(&[b'B', 0, 0, 0, 0, 0]);
    } else {
        buf.extend_from_slice(&[b'B', 0, 0, 0, 0]);
        buf.extend_from_slice(portal.as_bytes());
        buf.extend_from_slice(&[0]);
    }
    buf.extend_from_slice(statement.as_bytes());
    // The statement name's NUL, the parameter format codes and the
    // parameter count, through a small stack buffer.
    let mut head = Chunk::new(buf);
    head.push(&[0]);
    head.push(&n.to_be_bytes());
    for m in modes {
        head.push(match m {
            ParamMode::Text(_) => &[0, 0],
            _ => &[0, 1],
        });
    }
    head.push(&n.to_be_bytes());
    head.flush();
    for (i, (v, m)) in params.iter().zip(modes).enumerate() {
        let ty = match m {
            ParamMode::Binary(t) | ParamMode::Text(t) => t,
            ParamMode::Infer => server_types.and_then(|s| s.get(i)).ok_or_else(|| {
                Mismatch(Error::protocol("parameter type unknown before describe"))
            })?,
        };
        let len_at = buf.len();
        buf.extend_from_slice(&[0, 0, 0, 0]);
        let mut r = v.to_sql_checked(ty, buf);
        if let (Err(e), postgres_types::Kind::Domain(_)) = (&r, ty.kind()) {
            // A domain travels as its base type (the same bytes), for a
            // value of the base type's Rust type.
            if e.is::<WrongType>() {
                if let Some(base) = crate::types::registry::strip_domains(ty) {
                    buf.truncate(len_at + 4);
                    r = v.to_sql_checked(&base, buf);
                }
            }
        }
        let is_null = r.map_err(|e| {
            if !e.is::<WrongType>() {
                return Value(Error::with_source(
                    crate::ErrorKind::Conversion,
                    format!("cannot send parameter ${} as {}", i + 1, ty.name()),
                    e,
                ));
            }
            let server_typed = matches!(m, ParamMode::Infer) || Type::from_oid(ty.oid()).is_none();
            let e = wrong_type(i, ty, e);
            if server_typed {
                Unfit(e)
            } else {
                Mismatch(e)
            }
        })?;
        let len = match is_null {
            postgres_types::IsNull::Yes => {
                buf.truncate(len_at + 4);
                -1
            }
            postgres_types::IsNull::No => i32::try_from(buf.len() - len_at - 4)
                .map_err(|_| Value(too_large(&format!("parameter ${}", i + 1))))?,
        };
        buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
    }
    match formats {
        Formats::Binary => buf.extend_from_slice(&[0, 1, 0, 1]),
        Formats::Text => buf.extend_from_slice(&[0, 1, 0, 0]),
        Formats::Columns(cols) => {
            let n = i16::try_from(cols.len())
                .map_err(|_| Value(Error::conversion("more than 32767 result columns")))?;
            let mut codes = Chunk::new(buf);
            codes.push(&n.to_be_bytes());
            for c in cols {
                codes.push(if c.text { &[0, 0] } else { &[0, 1] });
            }
            codes.flush();
        }
    }
    let len =
        i32::try_from(buf.len() - start - 1).map_err(|_| Value(too_large("the Bind message")))?;
    buf[start + 1..start + 5].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

/// A portal or statement name goes as a C string: no NUL inside.
fn check_name(s: &str) -> Result<(), Error> {
    if s.as_bytes().contains(&0) {
        return Err(Error::conversion("a name contains a NUL byte"));
    }
    Ok(())
}

/// Small fields gathered on the stack and appended to a buffer in one
/// copy each time it fills (and at [`Chunk::flush`]).
struct Chunk<'b> {
    buf: &'b mut BytesMut,
    tmp: [u8; 64],
    len: usize,
}

impl<'b> Chunk<'b> {
    fn new(buf: &'b mut BytesMut) -> Chunk<'b> {
        Chunk {
            buf,
            tmp: [0; 64],
            len: 0,
        }
    }

    /// Appends `bytes` (at most 64).
    #[inline]
    fn push(&mut self, bytes: &[u8]) {
        if self.len + bytes.len() > self.tmp.len() {
            self.flush();
        }
        self.tmp[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    fn flush(&mut self) {
        self.buf.extend_from_slice(&self.tmp[..self.len]);
        self.len = 0;
    }
}

/// The number of parameters a query uses: the highest `$n` outside string
/// literals, quoted identifiers, comments and dollar-quoted strings (the
/// one lexer's count).
pub(crate) fn count_placeholders(sql: &str) -> usize {
    crate::sql::placeholders(sql)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_placeholders_outside_quotes_and_comments() {
        assert_eq!(count_placeholders("SELECT 1"), 0);
        assert_eq!(count_placeholders("SELECT $1, $2"), 2);
        assert_eq!(count_placeholders("SELECT $2"), 2);
        assert_eq!(count_placeholders("SELECT '$3', $1"), 1);
        assert_eq!(count_placeholders("SELECT 'it''s $4', $1"), 1);
        assert_eq!(count_placeholders("SELECT E'\\' $5', $1"), 1);
        assert_eq!(count_placeholders("SELECT \"$6\", $1 -- $7\n"), 1);
        assert_eq!(count_placeholders("SELECT /* $8 /* $9 */ */ $1"), 1);
        assert_eq!(count_placeholders("SELECT $$ $10 $$, $1"), 1);
        assert_eq!(count_placeholders("SELECT $tag$ $10 $tag$, $2"), 2);
        assert_eq!(count_placeholders("SELECT a$1 FROM t"), 0);
        assert_eq!(count_placeholders("SELECT $12"), 12);
    }

    #[test]
    fn probes_natural_modes() {
        let mut s = BytesMut::new();
        assert_eq!(probe(&1i32, &mut s), ParamMode::Binary(Type::INT4));
        assert_eq!(probe(&1i64, &mut s), ParamMode::Binary(Type::INT8));
        assert_eq!(probe(&1i16, &mut s), ParamMode::Binary(Type::INT2));
        assert_eq!(probe(&1.5f64, &mut s), ParamMode::Binary(Type::FLOAT8));
        assert_eq!(probe(&true, &mut s), ParamMode::Binary(Type::BOOL));
        assert_eq!(probe(&"x", &mut s), ParamMode::Text(Type::TEXT));
        assert_eq!(probe(&String::new(), &mut s), ParamMode::Text(Type::TEXT));
        assert_eq!(probe(&None::<i32>, &mut s), ParamMode::Binary(Type::INT4));
        assert_eq!(
            probe(&vec![1i64], &mut s),
            ParamMode::Binary(Type::INT8_ARRAY)
        );
        assert_eq!(
            probe(&vec!["a".to_string()], &mut s),
            ParamMode::Binary(Type::TEXT_ARRAY)
        );
        assert_eq!(probe(&vec![1u8], &mut s), ParamMode::Binary(Type::BYTEA));
    }

    /// The Bind bytes are exactly postgres-protocol's encoding of the same
    /// message: named and unnamed portals, text and binary parameters, a
    /// NULL, more format codes than one stack chunk holds, and per-column
    /// result formats (the encoding gathers fields into few appends).
    #[test]
    fn bind_bytes_match_postgres_protocol() {
        use postgres_protocol::message::frontend;
        let cols: Vec<Column> = [false, true, false]
            .iter()
            .map(|&text| Column {
                name: "c".into(),
                type_: Type::INT4,
                table_oid: 0,
                column_id: 0,
                type_modifier: -1,
                text,
            })
            .collect();
        let none: Option<i32> = None;
        let many: Vec<i32> = (0..40).collect();
        let int = || ParamMode::Binary(Type::INT4);
        let text = ParamMode::Text(Type::TEXT);
        type Case<'c> = (
            &'c str,
            &'c str,
            Vec<Param<'c>>,
            Vec<ParamMode>,
            Formats<'c>,
        );
        let cases: Vec<Case<'_>> = vec![
            ("", "tusk_s1", vec![&7i32], vec![int()], Formats::Binary),
            (
                "p1",
                "s",
                vec![&7i32, &"x", &none],
                vec![int(), text, int()],
                Formats::Text,
            ),
            ("", "", vec![], vec![], Formats::Columns(&cols)),
            (
                "",
                "tusk_s2",
                many.iter().map(|v| v as Param<'_>).collect(),
                vec![int(); 40],
                Formats::Binary,
            ),
        ];
        for (portal, stmt, values, modes, formats) in cases {
            let types: Vec<Type> = modes
                .iter()
                .map(|m| match m {
                    ParamMode::Binary(t) | ParamMode::Text(t) => t.clone(),
                    ParamMode::Infer => Type::UNKNOWN,
                })
                .collect();
            let result_formats: Vec<i16> = match formats {
                Formats::Binary => vec![1],
                Formats::Text => vec![0],
                Formats::Columns(c) => c.iter().map(|c| i16::from(!c.text)).collect(),
            };
            let mut ours = BytesMut::from(&b"before"[..]);
            assert!(try_bind(&mut ours, portal, stmt, &modes, None, &values, formats).is_ok());
            let mut theirs = BytesMut::from(&b"before"[..]);
            frontend::bind(
                portal,
                stmt,
                modes
                    .iter()
                    .map(|m| i16::from(!matches!(m, ParamMode::Text(_)))),
                values.iter().zip(&types),
                |(v, t), buf| {
                    v.to_sql_checked(t, buf).map(|n| match n {
                        postgres_types::IsNull::Yes => postgres_protocol::IsNull::Yes,
                        postgres_types::IsNull::No => postgres_protocol::IsNull::No,
                    })
                },
                result_formats,
                &mut theirs,
            )
            .map_err(|_| "encoding failed")
            .unwrap();
            assert_eq!(
                &ours[..],
                &theirs[..],
                "portal {portal:?}, statement {stmt:?}"
            );
        }
    }

    #[test]
    fn bind_reports_wrong_count_and_leaves_buffer_clean() {
        let mut b = BytesMut::from(&b"xyz"[..]);
        let e: Error = try_bind(
            &mut b,
            "",
            "s",
            &[ParamMode::Binary(Type::INT4)],
            None,
            &[],
            Formats::Binary,
        )
        .unwrap_err()
        .into();
        assert_eq!(e.kind(), crate::ErrorKind::Conversion);
        assert_eq!(&b[..], b"xyz");
        let e: Error = try_bind(
            &mut b,
            "",
            "s",
            &[ParamMode::Binary(Type::INT4)],
            None,
            &[&"no"],
            Formats::Binary,
        )
        .unwrap_err()
        .into();
        assert_eq!(e.kind(), crate::ErrorKind::Conversion);
        assert_eq!(&b[..], b"xyz");
    }
}
