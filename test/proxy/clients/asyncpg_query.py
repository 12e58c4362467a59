"""asyncpg through pgveil: prints one JSON object with what its queries returned.

Run with Debian's /usr/bin/python3 (python3-asyncpg): PORT DATABASE. The first connection uses
asyncpg's defaults (its startup packet carries client_encoding 'utf-8', quoted); the second passes
settings as startup parameters (server_settings).
"""
import asyncio
import json
import sys

import asyncpg

port, database = int(sys.argv[1]), sys.argv[2]


async def main():
    out = {}
    conn = await asyncpg.connect(host="127.0.0.1", port=port, user="analyst", password="analyst", database=database)
    try:
        row = await conn.fetchrow("SELECT id, phone, ssn FROM customers WHERE id = $1", 3)
        out["row"] = dict(row)
        out["client_encoding"] = await conn.fetchval("SHOW client_encoding")
    finally:
        await conn.close()
    conn = await asyncpg.connect(
        host="127.0.0.1", port=port, user="analyst", password="analyst", database=database,
        server_settings={"search_path": "reporting, public", "statement_timeout": "5s", "application_name": "asyncpg-test"},
    )
    try:
        out["search_path"] = await conn.fetchval("SHOW search_path")
        out["statement_timeout"] = await conn.fetchval("SHOW statement_timeout")
        out["application_name"] = await conn.fetchval("SHOW application_name")
        out["regions"] = [r["code"] for r in await conn.fetch("SELECT code FROM regions ORDER BY code")]
    finally:
        await conn.close()
    print(json.dumps(out))


asyncio.run(main())
