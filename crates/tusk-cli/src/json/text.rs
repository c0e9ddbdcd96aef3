//! Text-format values to [`Json`], for the types whose text form already
//! is (or trivially gives) the mapped value. The other mapped types are
//! converted back to binary by the server (see `crate::query`).

use tusk::types::Type;

use super::Json;

/// Whether [`from_text`] maps this type exactly.
pub fn is_direct(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::BOOL
            | Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::OID
            | Type::NUMERIC
            | Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::UNKNOWN
            | Type::UUID
            | Type::INET
            | Type::CIDR
            | Type::JSON
            | Type::JSONB
    )
}

/// Maps the text form of a value of a type for which [`is_direct`] holds;
/// any other type gets its text as a string.
pub fn from_text(ty: &Type, text: Option<&str>) -> Json {
    let Some(text) = text else {
        return Json::Null;
    };
    match *ty {
        Type::BOOL => match text {
            "t" => Json::Bool(true),
            "f" => Json::Bool(false),
            other => Json::String(other.to_owned()),
        },
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID if is_integer(text) => {
            Json::Number(text.to_owned())
        }
        Type::UUID => Json::String(text.to_ascii_lowercase()),
        Type::JSON | Type::JSONB => Json::Raw(text.to_owned()),
        _ => Json::String(text.to_owned()),
    }
}

/// An optional minus sign and at least one digit: valid JSON number text.
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_types() {
        assert_eq!(
            from_text(&Type::INT8, Some("-42")),
            Json::Number("-42".into())
        );
        assert_eq!(from_text(&Type::BOOL, Some("f")), Json::Bool(false));
        assert_eq!(
            from_text(&Type::NUMERIC, Some("1.50")),
            Json::String("1.50".into())
        );
        assert_eq!(
            from_text(&Type::JSONB, Some("{\"a\": 1}")),
            Json::Raw("{\"a\": 1}".into())
        );
        assert_eq!(
            from_text(&Type::POINT, Some("(1,2)")),
            Json::String("(1,2)".into())
        );
        assert_eq!(from_text(&Type::TEXT, None), Json::Null);
        assert!(!is_integer("01"));
        assert!(!is_integer("-"));
        assert!(is_integer("0"));
    }
}
