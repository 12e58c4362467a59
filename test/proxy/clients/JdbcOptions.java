// pgJDBC's `options` connection property through pgveil: prints "name: value" lines.
// Run as: java -cp /usr/share/java/postgresql.jar JdbcOptions.java PORT DATABASE OPTIONS
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

public class JdbcOptions {
  static String one(Statement st, String sql) throws SQLException {
    try (ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", "analyst");
    props.setProperty("password", "analyst");
    props.setProperty("sslmode", "disable");
    props.setProperty("options", args[2]);
    try (Connection c = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + args[0] + "/" + args[1], props);
         Statement st = c.createStatement()) {
      System.out.println("search_path: " + one(st, "SHOW search_path"));
      System.out.println("statement_timeout: " + one(st, "SHOW statement_timeout"));
      System.out.println("regions: " + one(st, "SELECT string_agg(code, ',' ORDER BY code) FROM regions"));
      System.out.println("phone: " + one(st, "SELECT phone FROM customers WHERE id = 3"));
    } catch (SQLException e) {
      System.out.println("error: " + e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
    }
  }
}
