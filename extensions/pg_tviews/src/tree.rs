//! The analyzed and rewritten query tree of a SELECT, as node text.

use std::ffi::{CStr, CString};

use pgrx::pg_sys;

use crate::error::{unsupported, user, TvResult};

/// Parses, analyzes and rewrites `sql` (views expanded) and returns
/// `nodeToString` of the resulting query.
pub fn query_text(sql: &str) -> TvResult<String> {
    let c = CString::new(sql).map_err(|_| user("the query contains a NUL byte"))?;
    // SAFETY: the parser and analyzer take a NUL-terminated string and
    // return palloc'd lists in the current memory context; errors are
    // raised as PostgreSQL ERRORs, which pgrx turns into Rust panics at
    // this FFI boundary. List cells are read only within `length`.
    #[allow(unsafe_code)]
    unsafe {
        let raw = pg_sys::pg_parse_query(c.as_ptr());
        if raw.is_null() || (*raw).length != 1 {
            return Err(unsupported(
                "the TVIEW query must be exactly one SELECT statement",
            ));
        }
        let stmt = (*(*raw).elements).ptr_value.cast::<pg_sys::RawStmt>();
        let node = (*stmt).stmt;
        if node.is_null() || (*node).type_ != pg_sys::NodeTag::T_SelectStmt {
            return Err(unsupported("the TVIEW query must be a SELECT statement"));
        }
        let queries = pg_sys::pg_analyze_and_rewrite_fixedparams(
            stmt,
            c.as_ptr(),
            std::ptr::null(),
            0,
            std::ptr::null_mut(),
        );
        if queries.is_null() || (*queries).length != 1 {
            return Err(unsupported("the TVIEW query was rewritten into several queries (rules?), which is not supported"));
        }
        let query = (*(*queries).elements).ptr_value;
        let text = pg_sys::nodeToString(query);
        Ok(CStr::from_ptr(text).to_string_lossy().into_owned())
    }
}
