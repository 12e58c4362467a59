"""SQLAlchemy's reflection through pgveil: prints one JSON object with what each inspector call saw.

Run with Debian's /usr/bin/python3 (python3-sqlalchemy, python3-psycopg2): PORT DATABASE.
"""
import json
import sys

from sqlalchemy import MetaData, create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

port, database = sys.argv[1], sys.argv[2]
engine = create_engine(f"postgresql+psycopg2://analyst:analyst@127.0.0.1:{port}/{database}?sslmode=disable")
out = {}
inspector = inspect(engine)
out["schemas"] = sorted(inspector.get_schema_names())
out["tables"] = sorted(inspector.get_table_names())
out["views"] = sorted(inspector.get_view_names())
out["columns"] = [c["name"] for c in inspector.get_columns("customers")]
out["pk"] = inspector.get_pk_constraint("orders")["constrained_columns"]
out["fks"] = [(fk["referred_table"], fk["constrained_columns"]) for fk in inspector.get_foreign_keys("orders")]
out["indexes"] = sorted(i["name"] for i in inspector.get_indexes("customers"))
out["unique"] = inspector.get_unique_constraints("customers")
out["checks"] = inspector.get_check_constraints("customers")
out["comment"] = inspector.get_table_comment("customers")["text"]
out["view_definition"] = inspector.get_view_definition("plain_notes") is not None
metadata = MetaData()
metadata.reflect(bind=engine, only=["customers", "orders", "notes"])
out["reflected"] = sorted(metadata.tables.keys())
with engine.connect() as conn:
    try:
        conn.execute(text("SELECT public.leak_ssn(2)")).fetchall()
        out["leak_ssn"] = "LEAKED"
    except DBAPIError as error:
        out["leak_ssn"] = [error.orig.pgcode, str(error.orig).strip()]
print(json.dumps(out))
