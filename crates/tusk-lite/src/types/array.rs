//! Array values as column values: text output by element type, the
//! element-wise conversion of an array to another element type, and the
//! names PostgreSQL gives array types.

use super::*;

/// Text output of a non-null value of `ty`: an array's elements are
/// written by their element type (dates as dates, not as day numbers).
pub fn format_value(v: &Value, ty: ColType) -> String {
    match (v, ty.ty) {
        // int2vector/oidvector: the elements, space-separated.
        (Value::Array(items), Type::Array) if ty.is_vector() => {
            let elem = ColType::array_elem(ty);
            let parts: Vec<String> = items.iter().map(|x| format_text(x, elem)).collect();
            parts.join(" ")
        }
        (Value::Array(items), Type::Array) => format_array(items, ColType::array_elem(ty)),
        _ => format_text(v, ty.ty),
    }
}

/// The type of an element value as stored in an array whose declared
/// element type is unknown (a parameter's array in text format holds
/// strings; in binary, values of its element type).
fn value_class(v: &Value, target: Type) -> Option<Type> {
    Some(match v {
        Value::Text(_) => Type::Text,
        Value::Bool(_) => Type::Bool,
        Value::Numeric(_) => Type::Numeric,
        Value::Float(_) => Type::Float8,
        // Integers stand for dates and timestamps too: those keep their
        // value (only an integer type converts).
        Value::Int(_) if target.is_numeric_family() || target.is_string() => Type::Int8,
        _ => return None,
    })
}

/// Converts each element of an array to `to` (an array cast or an
/// assignment of one array type to another, element by element).
pub fn cast_elements(items: Vec<Value>, to: Type, explicit: bool) -> Result<Vec<Value>> {
    items
        .into_iter()
        .map(|v| {
            if v.is_null() {
                return Ok(Value::Null);
            }
            match value_class(&v, to) {
                Some(from) if from != to => cast(v, from, ColType::plain(to), explicit),
                _ => Ok(v),
            }
        })
        .collect()
}

/// The name PostgreSQL's messages give a column type (`integer[]` for an
/// array of integers).
pub fn type_name_of(ty: ColType) -> String {
    match ty.ty {
        Type::Array => format!("{}[]", ColType::array_elem(ty).name()),
        t => t.name().to_string(),
    }
}
