//! Bound statements: expressions resolved to column positions and types,
//! and the plan trees the executor runs.

use std::sync::Arc;

use crate::catalog::Table;
use crate::types::{ColType, Type, Value};

#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub ty: ColType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolTest {
    IsTrue,
    IsNotTrue,
    IsFalse,
    IsNotFalse,
    IsUnknown,
    IsNotUnknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Lower,
    Upper,
    Length,
    Abs,
    Round,
    Trunc,
    Floor,
    Ceil,
    Concat,
    Substr,
    Replace,
    Position,
    Btrim,
    Ltrim,
    Rtrim,
    Left,
    Right,
    Repeat,
    Sqrt,
    Power,
    Mod,
    Sign,
    Version,
    CurrentDatabase,
    CurrentSchema,
    CurrentUser,
    PgTypeof,
    Random,
    Now,
    Nextval,
    Currval,
    Setval,
    /// A column of a sequence read as a relation (`SELECT last_value FROM
    /// s`): 0 last_value, 1 log_cnt, 2 is_called, of the sequence whose
    /// OID is the argument.
    SequenceField(u8),
    ClockTimestamp,
    LocalTimestamp,
    CurrentDate,
    /// pg_get_userbyid(oid).
    PgGetUserbyid,
    /// format_type(type oid, typmod).
    FormatType,
    /// pg_encoding_to_char(int).
    EncodingToChar,
    /// array_to_string(array, delimiter).
    ArrayToString,
    /// array_upper(array, dimension).
    ArrayUpper,
    /// array || array.
    ArrayCat,
    /// array[subscript]: the element, NULL when out of bounds.
    /// An int2vector/oidvector element: subscripts from 0.
    VectorSubscript,
    ArraySubscript,
    /// ARRAY[a, b, ...]: the arguments as a one-dimensional array.
    MakeArray,
    /// array_length(array, dimension).
    ArrayLength,
    /// array_lower(array, dimension).
    ArrayLower,
    /// cardinality(array): the number of elements.
    Cardinality,
    /// array_ndims(array).
    ArrayNdims,
    /// array_append(array, element), `array || element`.
    ArrayAppend,
    /// array_prepend(element, array), `element || array`.
    ArrayPrepend,
    /// array_position(array, element [, start]).
    ArrayPosition,
    /// array_remove(array, element).
    ArrayRemove,
    /// array @> array.
    ArrayContains,
    /// array <@ array.
    ArrayContained,
    /// array && array.
    ArrayOverlap,
    /// array[lo:hi]; an omitted bound is open.
    ArraySlice {
        lo_open: bool,
        hi_open: bool,
    },
    /// `SET col[i] = v`: (array, i, v) -> the array with element i set.
    ArraySet,
    /// pg_sleep(seconds): waits, ended early by a CancelRequest (57014).
    /// Returns void, whose text form is the empty string.
    PgSleep,
    /// pg_notify(channel, payload): queues a notification (void).
    PgNotify,
    /// pg_advisory_unlock_all(): void.
    AdvisoryUnlockAll,
    /// pg_advisory_lock(bigint): void, waits.
    AdvisoryLock,
    /// pg_try_advisory_lock(bigint): bool.
    AdvisoryTryLock,
    /// pg_advisory_unlock(bigint): bool.
    AdvisoryUnlock,
    /// set_config(name, value, is_local): transaction_read_only only
    /// (what drivers send); other settings are 0A000 (use SET).
    SetConfig,
    /// current_setting(name [, missing_ok]).
    CurrentSetting,
    /// pg_listening_channels(), as an array (unnested in FROM).
    ListeningChannels,
    /// pg_backend_pid().
    BackendPid,
    /// pg_terminate_backend(pid [, timeout]): ends another session (or
    /// this one) with FATAL 57P01; false when no session has that pid.
    TerminateBackend,
    /// quote_ident(text).
    QuoteIdent,
    /// pg_size_pretty(bigint or numeric).
    SizePretty,
    /// pg_table_size, pg_total_relation_size, pg_relation_size or
    /// pg_indexes_size of a relation OID: the bytes tusk-lite stores for
    /// it (see `exec::size`).
    RelSize(SizeOf),
    /// pg_get_indexdef(index, column, pretty): the whole definition for
    /// column 0, else that column's name (args: the index's array from
    /// `Snapshot::indexdef_columns`, the column number, pretty).
    IndexDefColumn,
    /// Returns its first argument: pg_get_expr (tusk-lite stores an
    /// expression's SQL text) and pg_partition_ancestors (no partitions:
    /// a relation's only ancestor is itself).
    Identity,
    /// A json/jsonb function or operator.
    Json(crate::json::ops::JsonFunc),
    /// A bytea, uuid, string or math library function.
    Lib(crate::sql::libfunc::LibFunc),
    /// A date/time operator or function ([`crate::dtfuncs`]).
    Dt(crate::dtfuncs::DtFunc),
}

/// Which size a relation-size function measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SizeOf {
    /// pg_relation_size: the relation's own data (a table's rows, an
    /// index's entries).
    Relation,
    /// pg_table_size: a table's rows (tusk-lite has no TOAST, free space
    /// or visibility maps).
    Table,
    /// pg_indexes_size: every index of a table, its primary key's too.
    Indexes,
    /// pg_total_relation_size: the table and its indexes.
    Total,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    CountStar,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    BoolAnd,
    BoolOr,
    StringAgg,
    /// json_agg / jsonb_agg over values already converted to json(b);
    /// `structured`: arrays or rows, which json_agg separates by a
    /// newline too.
    JsonAgg {
        jsonb: bool,
        structured: bool,
    },
    /// json_object_agg / jsonb_object_agg over (text key, converted value).
    JsonObjectAgg {
        jsonb: bool,
    },
    /// array_agg(x): the inputs (NULLs included) in input order.
    ArrayAgg,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    pub args: Vec<Expr>,
    pub distinct: bool,
    pub ty: ColType,
    /// `FILTER (WHERE ...)`: only the rows it is true for are aggregated.
    pub filter: Option<Expr>,
    /// `agg(args ORDER BY ...)`: the order the rows are aggregated in.
    pub order: Vec<SortKey>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubqueryKind {
    Scalar,
    Exists,
    /// `expr op ANY (subquery)`: the Expr's first child is the left operand.
    Any(BinOp),
    All(BinOp),
    /// ARRAY(subquery): the column's values as an array.
    Array,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Const(Value),
    /// `$n`, 0-based.
    Param(usize),
    /// A column of the current row.
    Column(usize),
    /// A column of an enclosing query's row: (levels up, position).
    Outer(usize, usize),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    IsNull(Box<Expr>, bool),
    IsDistinct(Box<Expr>, Box<Expr>, bool),
    BoolTest(Box<Expr>, BoolTest),
    Cast(Box<Expr>, bool),
    Func(Func, Vec<Expr>),
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        default: Option<Box<Expr>>,
    },
    Coalesce(Vec<Expr>),
    NullIf(Box<Expr>, Box<Expr>),
    Greatest(Vec<Expr>, bool),
    InList(Box<Expr>, Vec<Expr>, bool),
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        case_insensitive: bool,
        negated: bool,
    },
    Subquery {
        plan: Box<Plan>,
        kind: SubqueryKind,
        left: Option<Box<Expr>>,
        /// For a subquery that reads no column of an enclosing query, a
        /// number of its own (unique in the process): it runs once per
        /// execution of the statement, as PostgreSQL's InitPlan does
        /// (`(SELECT nextval('s'))` gives every row the same value), its
        /// rows kept under this number. None for a correlated one.
        initplan: Option<u64>,
    },
    /// An aggregate's result during binding (replaced by a Column).
    Agg(usize),
    /// A function of one OID answered from the statement's catalog
    /// snapshot (pg_get_indexdef, pg_get_constraintdef, `::regclass`
    /// output, pg_table_is_visible): the value for the OID, else
    /// `missing` (or the OID as text when `missing` is None).
    Lookup {
        map: Arc<std::collections::HashMap<i64, Value>>,
        arg: Box<Expr>,
        missing: Option<Value>,
    },
    /// POSIX regular expression match (`~`, `~*`, `!~`, `!~*`).
    Regex {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        case_insensitive: bool,
        negated: bool,
    },
    /// `left op ANY/ALL (array)`: `elem` is the array's element type,
    /// to which elements are compared after the left side's coercion.
    AnyArray {
        op: BinOp,
        left: Box<Expr>,
        array: Box<Expr>,
        all: bool,
    },
}

impl Expr {
    pub fn new(kind: ExprKind, ty: ColType) -> Expr {
        Expr { kind, ty }
    }

    pub fn constant(v: Value, ty: Type) -> Expr {
        Expr::new(ExprKind::Const(v), ColType::plain(ty))
    }

    pub fn column(i: usize, ty: ColType) -> Expr {
        Expr::new(ExprKind::Column(i), ty)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOpKind {
    Union,
    Intersect,
    Except,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SortKey {
    pub expr: Expr,
    pub desc: bool,
    pub nulls_first: bool,
}

/// How a scan finds its rows without reading the whole table.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    /// Every primary-key column pinned (in key order): one point read.
    Pk(Vec<Expr>),
    /// The leading columns of a secondary index pinned: (the index's
    /// position in the table's `indexes`, the values in index order).
    Index(usize, Vec<Expr>),
    /// A range of the primary key's or an index's keys (see [`KeyRange`]).
    Range(KeyRange),
}

/// The rows whose keys lie in a range: the leading columns of the primary
/// key (`index` None) or of the index at that position pinned by `=`
/// (possibly none), then the next column bounded by `<`, `<=`, `>`, `>=`
/// (possibly not at all, when some columns are pinned). Only for columns
/// whose key order is their SQL order (`sql::ranges::orders_by_key`);
/// a filter above still checks every row.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyRange {
    pub index: Option<usize>,
    /// The pinned values, in key order.
    pub eq: Vec<Expr>,
    /// `column op value` on the next key column (op: Lt, Le, Gt or Ge,
    /// the column on the left), in the WHERE's order. All are evaluated:
    /// the highest lower and the lowest upper bound win; a NULL one
    /// means no row.
    pub bounds: Vec<(BinOp, Expr)>,
    /// Read from the highest key down (ORDER BY the key DESC).
    pub backward: bool,
}

/// The rows a recursive query's recursive term reads (its working
/// table): filled by the [`Plan::RecursiveUnion`] that owns it before
/// each run of the term. Copies of a plan share it.
#[derive(Clone, Debug, Default)]
pub struct WorkTable(pub Arc<parking_lot::Mutex<Vec<Vec<Value>>>>);

impl PartialEq for WorkTable {
    fn eq(&self, other: &WorkTable) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Plan {
    /// One row with no columns (SELECT without FROM).
    OneRow,
    Values(Vec<Vec<Expr>>),
    /// A table's visible rows; with `key`, only those the primary key or
    /// an index finds (a filter above still checks every row).
    Scan {
        table: Arc<Table>,
        key: Option<Lookup>,
    },
    /// SELECT ... FOR UPDATE/SHARE: the table's rows that pass `filter`,
    /// in `order`, each locked (waiting, NOWAIT or SKIP LOCKED) and
    /// re-checked on its newest version, up to offset + limit rows.
    LockRows {
        table: Arc<Table>,
        key: Option<Lookup>,
        filter: Option<Expr>,
        order: Vec<SortKey>,
        exclusive: bool,
        wait: crate::txn::locks::Wait,
        limit: Option<Expr>,
        offset: Option<Expr>,
    },
    Filter(Box<Plan>, Expr),
    Join {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        on: Option<Expr>,
        right_width: usize,
        left_width: usize,
    },
    /// `left JOIN LATERAL right`: `right` runs once per left row, which
    /// its expressions see as the row one level out (Outer(1, i)).
    Lateral {
        left: Box<Plan>,
        right: Box<Plan>,
        /// LEFT JOIN: a left row without right rows pads them with NULLs.
        outer_join: bool,
        on: Option<Expr>,
        right_width: usize,
    },
    /// WITH RECURSIVE's `base UNION [ALL] step`: `step` runs on the rows
    /// the previous round added (its [`Plan::WorkTable`]) until it adds
    /// none; UNION keeps only rows not seen before.
    RecursiveUnion {
        base: Box<Plan>,
        step: Box<Plan>,
        all: bool,
        work: WorkTable,
    },
    /// The recursive term's reference to its own query.
    WorkTable(WorkTable),
    Project(Box<Plan>, Vec<Expr>),
    Aggregate {
        input: Box<Plan>,
        groups: Vec<Expr>,
        aggs: Vec<AggCall>,
    },
    Sort(Box<Plan>, Vec<SortKey>),
    Distinct(Box<Plan>),
    Limit {
        input: Box<Plan>,
        limit: Option<Expr>,
        offset: Option<Expr>,
    },
    SetOp {
        kind: SetOpKind,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
        /// The bpchar columns, whose trailing blanks do not count when
        /// rows are compared.
        bpchar: Vec<usize>,
    },
    /// generate_series(start, stop[, step]) over integers.
    Series {
        start: Expr,
        stop: Expr,
        step: Option<Expr>,
    },
    /// pg_prepared_statements: the session's named prepared statements
    /// (name, statement, from_sql), read when the plan runs.
    PreparedStatements,
    /// pg_cursors: the session's cursors and named portals (name,
    /// is_holdable, is_binary, is_scrollable, creation_time), read when
    /// the plan runs.
    Cursors,
    /// unnest(array): one row per element.
    Unnest(Expr),
    /// A set-returning function whose value is an array of rows (each a
    /// Value::Array): jsonb_each and friends.
    UnnestRows(Expr),
    /// Keeps the first n columns (drops hidden sort columns).
    Truncate(Box<Plan>, usize),
}

/// A result column as RowDescription describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct OutColumn {
    pub name: String,
    pub ty: ColType,
    pub table_oid: u32,
    pub attnum: i16,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub plan: Plan,
    pub columns: Vec<OutColumn>,
}

#[derive(Clone, Debug)]
pub struct Insert {
    pub table: Arc<Table>,
    /// For each column of the source rows, the table column it fills.
    pub targets: Vec<usize>,
    pub source: Plan,
    /// Per table column, the bound DEFAULT (None: NULL).
    pub defaults: Vec<Option<Expr>>,
    pub on_conflict_nothing: bool,
    /// ON CONFLICT DO UPDATE: assignments and WHERE over the existing row
    /// followed by the proposed one (EXCLUDED).
    pub upsert: Option<Upsert>,
    /// The constraint whose conflicts ON CONFLICT handles.
    pub arbiter: Arbiter,
    /// CHECK constraints: (name, expression over the new row).
    pub checks: Vec<(String, Expr)>,
    pub returning: Option<Vec<Expr>>,
    pub returning_cols: Vec<OutColumn>,
}

/// Which unique constraint's conflicts ON CONFLICT handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arbiter {
    /// No inference given (DO NOTHING): any unique constraint.
    Any,
    /// The primary key.
    Pk,
    /// The unique index at this position of the table's `indexes`.
    Index(usize),
}

#[derive(Clone, Debug)]
pub struct Upsert {
    pub sets: Vec<(usize, Expr)>,
    pub filter: Option<Expr>,
}

#[derive(Clone, Debug)]
pub struct Update {
    pub table: Arc<Table>,
    pub key: Option<Lookup>,
    pub filter: Option<Expr>,
    pub sets: Vec<(usize, Expr)>,
    pub checks: Vec<(String, Expr)>,
    pub returning: Option<Vec<Expr>>,
    pub returning_cols: Vec<OutColumn>,
    /// UPDATE ... FROM: the FROM items' rows; `filter`, `sets` and
    /// `returning` then read the target's row followed by one of them.
    pub from: Option<Plan>,
}

#[derive(Clone, Debug)]
pub struct Delete {
    pub table: Arc<Table>,
    pub key: Option<Lookup>,
    pub filter: Option<Expr>,
    pub returning: Option<Vec<Expr>>,
    pub returning_cols: Vec<OutColumn>,
    /// DELETE ... USING, as Update::from.
    pub using: Option<Plan>,
}
