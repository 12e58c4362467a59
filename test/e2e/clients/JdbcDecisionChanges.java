// pgJDBC through pgveil while a decision changes under it. Reads commands on standard input and
// prints one line per command:
//   run   executes a server-prepared statement (prepareThreshold=1) -> the e-mail of customer 3
//   open  starts a transaction and a cursor fetched one row at a time (setFetchSize) -> first row
//   next  fetches the next row of that cursor -> the e-mail, or ERROR sqlstate message
// Run as: java -cp /usr/share/java/postgresql.jar JdbcDecisionChanges.java PORT DATABASE
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;

public class JdbcDecisionChanges {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", "analyst");
    props.setProperty("password", "analyst");
    props.setProperty("sslmode", "disable");
    props.setProperty("prepareThreshold", "1");
    try (Connection conn = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + args[0] + "/" + args[1], props)) {
      PreparedStatement prepared = conn.prepareStatement("SELECT email FROM customers WHERE id = ?");
      ResultSet cursor = null;
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
      System.out.println("ready");
      for (String line = in.readLine(); line != null; line = in.readLine()) {
        try {
          switch (line.trim()) {
            case "run": {
              prepared.setInt(1, 3);
              try (ResultSet rs = prepared.executeQuery()) {
                System.out.println(rs.next() ? rs.getString(1) : "no row");
              }
              break;
            }
            case "open": {
              conn.setAutoCommit(false);
              Statement st = conn.createStatement();
              st.setFetchSize(1);
              cursor = st.executeQuery("SELECT email FROM customers ORDER BY id");
              System.out.println(cursor.next() ? cursor.getString(1) : "no row");
              break;
            }
            case "next":
              System.out.println(cursor != null && cursor.next() ? cursor.getString(1) : "no row");
              break;
            default:
              System.out.println("unknown command");
          }
        } catch (SQLException e) {
          System.out.println("ERROR " + e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
          if (!conn.getAutoCommit()) conn.rollback();
        }
      }
    }
  }
}
