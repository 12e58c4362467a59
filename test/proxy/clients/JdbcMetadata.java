// pgJDBC's DatabaseMetaData through pgveil: each call prints "name: count" or "name: ERROR sqlstate message".
// Run as: java -cp /usr/share/java/postgresql.jar JdbcMetadata.java PORT DATABASE
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;

public class JdbcMetadata {
  interface Call {
    ResultSet run(DatabaseMetaData meta) throws SQLException;
  }

  static void report(DatabaseMetaData meta, String name, Call call) {
    try (ResultSet rs = call.run(meta)) {
      int rows = 0;
      StringBuilder first = new StringBuilder();
      while (rs.next()) {
        if (rows == 0) {
          for (int i = 1; i <= Math.min(4, rs.getMetaData().getColumnCount()); i++) first.append(i > 1 ? "|" : "").append(rs.getString(i));
        }
        rows++;
      }
      System.out.println(name + ": " + rows + " " + first);
    } catch (SQLException e) {
      System.out.println(name + ": ERROR " + e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
    }
  }

  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.setProperty("user", "analyst");
    props.setProperty("password", "analyst");
    props.setProperty("sslmode", "disable");
    // Server-prepared statements from the first execution, so the extended protocol path is used too.
    props.setProperty("prepareThreshold", "1");
    try (Connection conn = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + args[0] + "/" + args[1], props)) {
      DatabaseMetaData meta = conn.getMetaData();
      System.out.println("product: " + meta.getDatabaseProductName());
      report(meta, "getSchemas", m -> m.getSchemas());
      report(meta, "getCatalogs", m -> m.getCatalogs());
      report(meta, "getTableTypes", m -> m.getTableTypes());
      report(meta, "getTables", m -> m.getTables(null, "public", "%", new String[] {"TABLE", "VIEW"}));
      report(meta, "getColumns", m -> m.getColumns(null, "public", "customers", "%"));
      report(meta, "getPrimaryKeys", m -> m.getPrimaryKeys(null, "public", "orders"));
      report(meta, "getImportedKeys", m -> m.getImportedKeys(null, "public", "orders"));
      report(meta, "getExportedKeys", m -> m.getExportedKeys(null, "public", "customers"));
      report(meta, "getIndexInfo", m -> m.getIndexInfo(null, "public", "customers", false, true));
      report(meta, "getFunctions", m -> m.getFunctions(null, "public", "%"));
      report(meta, "getFunctionColumns", m -> m.getFunctionColumns(null, "public", "safe_double", "%"));
      report(meta, "getProcedures", m -> m.getProcedures(null, "public", "%"));
      report(meta, "getProcedureColumns", m -> m.getProcedureColumns(null, "public", "leak_ssn", "%"));
      report(meta, "getTypeInfo", m -> m.getTypeInfo());
      report(meta, "getUDTs", m -> m.getUDTs(null, "public", "%", null));
      report(meta, "getColumnPrivileges", m -> m.getColumnPrivileges(null, "public", "customers", "%"));
      report(meta, "getTablePrivileges", m -> m.getTablePrivileges(null, "public", "%"));
      report(meta, "getBestRowIdentifier", m -> m.getBestRowIdentifier(null, "public", "customers", DatabaseMetaData.bestRowSession, true));
      report(meta, "getVersionColumns", m -> m.getVersionColumns(null, "public", "customers"));
      try (ResultSet rs = conn.createStatement().executeQuery("SELECT public.leak_ssn(2)")) {
        System.out.println("leak_ssn: LEAKED");
      } catch (SQLException e) {
        System.out.println("leak_ssn: ERROR " + e.getSQLState() + " " + e.getMessage().replace('\n', ' '));
      }
    }
  }
}
