// pgjdbc against tusk-lite: connect, CREATE, CRUD with parameters, a
// prepared statement (server-prepared after its first use), a transaction,
// an error carrying its SQLSTATE, the names of types pgjdbc looks up in
// pg_type (jsonb, interval). Run by crates/tusk-lite/tests/drivers.rs.
import java.sql.*;

public class Smoke {
    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/app?user=app&prepareThreshold=1";
        try (Connection c = DriverManager.getConnection(url)) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, qty int)");
            }
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO items VALUES (?, ?, ?)")) {
                ins.setInt(1, 1); ins.setString(2, "a"); ins.setInt(3, 10); ins.executeUpdate();
                ins.setInt(1, 2); ins.setString(2, "b"); ins.setInt(3, 20); ins.executeUpdate();
            }
            try (PreparedStatement up = c.prepareStatement("UPDATE items SET qty = qty + ? WHERE id = ?")) {
                up.setInt(1, 5); up.setInt(2, 1);
                check(up.executeUpdate() == 1, "update count");
            }
            try (PreparedStatement del = c.prepareStatement("DELETE FROM items WHERE id = ?")) {
                del.setInt(1, 2);
                check(del.executeUpdate() == 1, "delete count");
            }
            try (PreparedStatement sel = c.prepareStatement("SELECT name, qty FROM items WHERE id = ?")) {
                for (int round = 0; round < 3; round++) {
                    sel.setInt(1, 1);
                    try (ResultSet r = sel.executeQuery()) {
                        check(r.next() && r.getString(1).equals("a") && r.getInt(2) == 15, "select row");
                        check(!r.next(), "one row");
                    }
                }
            }
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO items VALUES (3, 'c', 30)");
                c.rollback();
                s.executeUpdate("INSERT INTO items VALUES (4, 'd', 40)");
                c.commit();
            }
            c.setAutoCommit(true);
            try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT id FROM items ORDER BY id")) {
                StringBuilder ids = new StringBuilder();
                while (r.next()) ids.append(r.getInt(1)).append(' ');
                check(ids.toString().equals("1 4 "), "ids " + ids);
            }
            try (PreparedStatement dup = c.prepareStatement("INSERT INTO items VALUES (?, 'dup', 0)")) {
                dup.setInt(1, 1);
                dup.executeUpdate();
                check(false, "a duplicate key must fail");
            } catch (SQLException e) {
                check("23505".equals(e.getSQLState()), "sqlstate " + e.getSQLState());
            }
        }
        // Types pgjdbc does not know by OID: it looks them up in pg_type
        // (typinput = 'pg_catalog.array_in'::regproc, current_schemas).
        try (Connection c = DriverManager.getConnection(url);
             Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT '{\"a\": 1}'::jsonb AS j, interval '1 day' AS i, ARRAY[1, 2] AS a")) {
            ResultSetMetaData md = r.getMetaData();
            String names = md.getColumnTypeName(1) + " " + md.getColumnTypeName(2) + " " + md.getColumnTypeName(3);
            check(names.equals("jsonb interval _int4"), "type names " + names);
            check(md.getColumnType(1) == Types.OTHER && md.getColumnType(3) == Types.ARRAY, "sql types");
            check(r.next() && r.getString(1).equals("{\"a\": 1}") && r.getString(2).equals("1 day"), "values");
        }
        System.out.println("pgjdbc ok");
    }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }
}
