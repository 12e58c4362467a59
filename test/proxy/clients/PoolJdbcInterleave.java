// Two pgJDBC sessions (analyst, steward) interleaved on a pooled pgveil, with server-prepared
// statements from the first execution (prepareThreshold=1): prints "who step: value" lines.
// Run as: java -cp /usr/share/java/postgresql.jar PoolJdbcInterleave.java PORT DATABASE ID
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;
import org.postgresql.PGStatement;

public class PoolJdbcInterleave {
  static Connection open(String port, String database, String user) throws SQLException {
    Properties props = new Properties();
    props.setProperty("user", user);
    props.setProperty("password", user);
    props.setProperty("sslmode", "disable");
    props.setProperty("prepareThreshold", "1");
    return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, props);
  }

  static String email(PreparedStatement ps, int id) throws SQLException {
    ps.setInt(1, id);
    try (ResultSet rs = ps.executeQuery()) {
      return rs.next() ? rs.getString(1) + " " + rs.getString(2) : "no row";
    }
  }

  static String count(PreparedStatement ps, String region) throws SQLException {
    ps.setString(1, region);
    try (ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getString(1);
    }
  }

  public static void main(String[] args) throws Exception {
    int id = Integer.parseInt(args[2]);
    try (Connection analyst = open(args[0], args[1], "analyst");
        Connection steward = open(args[0], args[1], "steward")) {
      String byId = "SELECT email, ssn FROM customers WHERE id = ?";
      String byRegion = "SELECT count(*) FROM customers WHERE region = ?";
      PreparedStatement a1 = analyst.prepareStatement(byId);
      PreparedStatement a2 = analyst.prepareStatement(byRegion);
      PreparedStatement s1 = steward.prepareStatement(byId);
      PreparedStatement s2 = steward.prepareStatement(byRegion);
      for (int i = 0; i < 4; i++) {
        System.out.println("analyst " + i + ": " + email(a1, id) + " " + count(a2, "US"));
        System.out.println("steward " + i + ": " + email(s1, id) + " " + count(s2, "US"));
      }
      // A transaction on each, interleaved: the analyst's holds the pool's only connection, so the
      // steward's must wait for its commit; run it after.
      analyst.setAutoCommit(false);
      System.out.println("analyst tx: " + email(a1, id) + " " + count(a2, "EU"));
      analyst.commit();
      steward.setAutoCommit(false);
      System.out.println("steward tx: " + email(s1, id) + " " + count(s2, "EU"));
      steward.commit();
      System.out.println("server-prepared: " + a1.unwrap(PGStatement.class).isUseServerPrepare() + " "
          + s1.unwrap(PGStatement.class).isUseServerPrepare());
    } catch (SQLException e) {
      System.out.println("error: " + e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
    }
  }
}
