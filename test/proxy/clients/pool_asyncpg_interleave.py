"""asyncpg, two sessions (analyst, steward) interleaved on a pooled pgveil: PORT DATABASE ID MODE.

asyncpg prepares every query as a named statement and describes it before it binds (Parse,
Describe, Flush; then Bind, Execute, Sync). MODE "queries": queries with arguments one after the
other and at once, and a transaction. MODE "prepare": explicit prepared statements, the second
session preparing while the first holds one it has not run yet. Prints one JSON object.
"""
import asyncio
import json
import sys

import asyncpg

port, database, canary, mode = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
BY_ID = "SELECT email, ssn FROM customers WHERE id = $1"
BY_REGION = "SELECT count(*) FROM customers WHERE region = $1"


async def connect(user):
    return await asyncpg.connect(host="127.0.0.1", port=port, user=user, password=user, database=database)


async def queries(analyst, steward):
    out = {"analyst": [], "steward": []}
    for _ in range(3):
        for who, conn in (("analyst", analyst), ("steward", steward)):
            row = await conn.fetchrow(BY_ID, canary)
            us = await conn.fetchval(BY_REGION, "US")
            out[who].append([row["email"], row["ssn"], us])
    together = []
    for _ in range(2):
        together += await asyncio.gather(*[conn.fetchrow(BY_ID, canary) for conn in (analyst, steward)])
    out["together"] = [r["email"] for r in together]
    async with analyst.transaction():
        out["analyst_tx"] = await analyst.fetchval(BY_REGION, "EU")
    return out


async def prepare(analyst, steward):
    # asyncpg's prepare() ends with Flush, not Sync: the statement exists before it runs.
    prepared = {"analyst": await analyst.prepare(BY_ID), "steward": await steward.prepare(BY_ID)}
    out = {"columns": [a.name for a in prepared["analyst"].get_attributes()]}
    for who in ("analyst", "steward", "analyst", "steward"):
        row = await prepared[who].fetchrow(canary)
        out.setdefault(who, []).append([row["email"], row["ssn"]])
    return out


async def main():
    analyst, steward = await connect("analyst"), await connect("steward")
    try:
        out = await (queries if mode == "queries" else prepare)(analyst, steward)
    except asyncpg.PostgresError as e:
        out = {"error": [e.sqlstate, str(e)]}
    except Exception as e:
        out = {"error": [type(e).__name__, str(e)]}
    finally:
        for conn in (analyst, steward):
            if not conn.is_closed():
                await conn.close()
    print(json.dumps(out))


asyncio.run(main())
