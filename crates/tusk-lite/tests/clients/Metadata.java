// pgjdbc's DatabaseMetaData against PostgreSQL 15 and tusk-lite: the same
// schema on both, then getTables (of tables, and of every kind), getSchemas,
// getColumns, getPrimaryKeys, getImportedKeys and getExportedKeys should
// return the same rows (every column, as strings). Run by crates/tusk-lite/tests/drivers.rs with the
// two JDBC URLs; prints, per call, "N rows match" or "differs" with the
// differing rows (a call that fails shows its error as its one row).
import java.sql.*;
import java.util.*;

public class Metadata {
    static final String[] SCHEMA = {
        "CREATE TYPE mood AS ENUM ('sad', 'ok')",
        "CREATE TABLE parent (a int, b text, label varchar(20) DEFAULT 'x', PRIMARY KEY (a, b), UNIQUE (label))",
        "CREATE TABLE kinds (id serial PRIMARY KEY, big bigserial, ident int GENERATED ALWAYS AS IDENTITY, "
            + "s int2 CHECK (s > 0), i8 int8 NOT NULL DEFAULT 42, n numeric(10,2), n2 numeric, f4 float4, f8 float8, "
            + "flag bool DEFAULT true, body text, vc varchar(30), ch char(3), raw bytea, born date, t3 time(3), "
            + "ts timestamp(2), tz timestamptz, span interval, uid uuid, doc json, docb jsonb, ints int[], texts text[], "
            + "m mood, pa int, pb text, FOREIGN KEY (pa, pb) REFERENCES parent (a, b) ON DELETE CASCADE)",
        "CREATE SEQUENCE counter_seq",
    };

    static List<String> rows(ResultSet r) throws SQLException {
        List<String> out = new ArrayList<>();
        ResultSetMetaData md = r.getMetaData();
        while (r.next()) {
            StringBuilder b = new StringBuilder();
            for (int i = 1; i <= md.getColumnCount(); i++) {
                b.append(md.getColumnLabel(i)).append('=').append(r.getString(i)).append(' ');
            }
            out.add(b.toString());
        }
        r.close();
        return out;
    }

    static Map<String, List<String>> describe(String url) throws SQLException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement()) {
                for (String ddl : SCHEMA) s.execute(ddl);
            }
            DatabaseMetaData md = c.getMetaData();
            for (String call : CALLS) {
                List<String> r;
                try {
                    r = rows(call(md, call));
                } catch (SQLException e) {
                    // A call the server cannot answer: its error is the result.
                    r = List.of("ERROR " + e.getSQLState() + ": " + e.getMessage());
                }
                out.put(call, r);
            }
        }
        return out;
    }

    static final String[] CALLS = {
        "getTables", "getTables(all types)", "getSchemas", "getColumns", "getPrimaryKeys",
        "getImportedKeys", "getExportedKeys",
    };

    static ResultSet call(DatabaseMetaData md, String call) throws SQLException {
        switch (call) {
            case "getTables": return md.getTables(null, "public", "%", new String[] {"TABLE"});
            case "getTables(all types)": return md.getTables(null, "public", "%", null);
            case "getSchemas": return md.getSchemas();
            case "getColumns": return md.getColumns(null, "public", "%", "%");
            case "getPrimaryKeys": return md.getPrimaryKeys(null, "public", "parent");
            case "getImportedKeys": return md.getImportedKeys(null, "public", "kinds");
            default: return md.getExportedKeys(null, "public", "parent");
        }
    }

    public static void main(String[] args) throws Exception {
        Map<String, List<String>> want = describe(args[0]);
        Map<String, List<String>> got = describe(args[1]);
        boolean same = true;
        for (String call : want.keySet()) {
            List<String> w = want.get(call), g = got.get(call);
            if (w.equals(g)) {
                System.out.println(call + ": " + w.size() + " rows match");
                continue;
            }
            same = false;
            System.out.println(call + " differs (" + w.size() + " rows on PostgreSQL, " + g.size() + " on tusk-lite)");
            for (int i = 0; i < Math.max(w.size(), g.size()); i++) {
                String a = i < w.size() ? w.get(i) : "(none)", b = i < g.size() ? g.get(i) : "(none)";
                if (!a.equals(b)) System.out.println("  PostgreSQL: " + a + "\n  tusk-lite:  " + b);
            }
        }
        // The Rust test compares the "differs" lines with its known gaps.
        System.out.println("pgjdbc metadata " + (same ? "all match" : "compared"));
    }
}
