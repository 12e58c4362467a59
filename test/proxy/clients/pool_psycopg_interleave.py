"""psycopg 3, two sessions (analyst, steward) interleaved on a pooled pgveil: PORT DATABASE ID.

prepare=True makes psycopg prepare each statement server-side (a named Parse) and bind it by name
afterwards. Prints one JSON object.
"""
import json
import sys

import psycopg

port, database, canary = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
BY_ID = "SELECT email, ssn FROM customers WHERE id = %s"


def connect(user):
    return psycopg.connect(host="127.0.0.1", port=port, user=user, password=user, dbname=database, autocommit=True)


def main():
    out = {"analyst": [], "steward": []}
    with connect("analyst") as analyst, connect("steward") as steward:
        for _ in range(3):
            for who, conn in (("analyst", analyst), ("steward", steward)):
                out[who].append(list(conn.execute(BY_ID, (canary,), prepare=True).fetchone()))
        # Prepared server-side under psycopg's own names (_pg3_N), bound by name from then on.
        out["prepared_names"] = sorted(n.decode() for n in steward._prepared._names.values())
        with analyst.transaction():
            out["analyst_tx"] = list(analyst.execute(BY_ID, (canary,), prepare=True).fetchone())
    print(json.dumps(out))


try:
    main()
except Exception as error:  # the test reads the error from the JSON
    print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
