#!/usr/bin/env python3
"""Checks a decrypted deskferry bag with stock tools only (no deskferry code).

usage: check_bag.py BAG_DIR

- bagit-python: the bag is complete and valid (every checksum, Payload-Oxum);
- pyarrow: every table under data/tables/ reads, with the intended Arrow types
  (lists of strings, timestamp[us, UTC], custom_fields as list<struct<key, value>>), and row
  counts equal bundle.json;
- DuckDB: the same tables through read_parquet, with VARCHAR[], TIMESTAMP WITH TIME ZONE and
  STRUCT(...)[] column types, and unicode text intact; and the README's idioms for auditors
  (natural id order, JSON inside strings, timestamps shown in UTC) give what they promise.

Prints a JSON summary on stdout; exits 1 with the list of problems on stderr.
"""
import json
import os
import sys

import bagit
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

LIST_COLUMNS = {
    "other_emails", "group_ids", "tags", "domains", "cc_ids", "follower_ids", "other_requester_ids",
    "attachment_ids", "labels",
}
TS_COLUMNS = {"created_at", "updated_at", "solved_at", "due_at", "deleted_at"}
KV = pa.struct([pa.field("key", pa.string(), nullable=False), pa.field("value", pa.string(), nullable=False)])
OPTION = pa.struct([pa.field("value", pa.string(), nullable=False), pa.field("label", pa.string(), nullable=False)])
TABLES = ["organizations", "groups", "users", "custom_fields", "tickets", "comments",
          "attachments", "kb_categories", "kb_sections", "kb_articles", "tombstones"]

problems = []


def check(cond, msg):
    if not cond:
        problems.append(msg)


def main(bag_dir):
    bag = bagit.Bag(bag_dir)
    try:
        bag.validate()  # full: structure, Oxum, completeness, every hash
    except bagit.BagValidationError as e:
        problems.append(f"bagit: {e}")
    with open(os.path.join(bag_dir, "bundle.json"), encoding="utf-8") as f:
        bundle = json.load(f)
    declared = {t["table"]: t["rows"] for t in bundle["tables"]}
    summary = {"bagit_valid": not problems, "tables": {}}
    con = duckdb.connect()
    for table in TABLES:
        tdir = os.path.join(bag_dir, "data", "tables", table)
        if not os.path.isdir(tdir):
            problems.append(f"{table}: no table directory")
            continue
        files = sorted(os.path.join(tdir, f) for f in os.listdir(tdir) if f.endswith(".parquet"))
        t = pa.concat_tables([pq.read_table(f) for f in files])
        check(t.num_rows == declared.get(table), f"{table}: {t.num_rows} rows, bundle.json says {declared.get(table)}")
        for field in t.schema:
            ty = field.type
            if field.name in LIST_COLUMNS:
                check(pa.types.is_list(ty) and ty.value_type == pa.string(), f"{table}.{field.name}: {ty}, want list<string>")
            elif field.name in TS_COLUMNS:
                check(ty == pa.timestamp("us", tz="UTC"), f"{table}.{field.name}: {ty}, want timestamp[us, tz=UTC]")
            elif field.name == "custom_fields":
                check(pa.types.is_list(ty) and ty.value_type == KV, f"{table}.custom_fields: {ty}, want list<struct<key,value>>")
            elif field.name == "options":
                check(pa.types.is_list(ty) and ty.value_type == OPTION, f"{table}.options: {ty}, want list<struct<value,label>>")
            elif field.name in ("size", "position"):
                check(ty == pa.int64(), f"{table}.{field.name}: {ty}, want int64")
            elif field.name in ("active", "suspended", "is_deleted", "public", "inline", "draft", "required", "is_spam", "multiple"):
                check(ty == pa.bool_(), f"{table}.{field.name}: {ty}, want bool")
            else:
                check(ty == pa.string(), f"{table}.{field.name}: {ty}, want string")
        for ts in TS_COLUMNS & set(t.schema.names):
            col = t.column(ts)
            if col.null_count < len(col):
                v = next(x for x in col.to_pylist() if x is not None)
                check(v.tzinfo is not None and v.utcoffset().total_seconds() == 0, f"{table}.{ts}: {v!r} is not UTC-aware")
        glob = os.path.join(tdir, "*.parquet").replace("'", "''")
        types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{glob}')").fetchall()}
        n = con.execute(f"SELECT count(*) FROM read_parquet('{glob}')").fetchone()[0]
        check(n == declared.get(table), f"duckdb {table}: {n} rows")
        for c, ty in types.items():
            if c in LIST_COLUMNS:
                check(ty == "VARCHAR[]", f"duckdb {table}.{c}: {ty}, want VARCHAR[]")
            elif c in TS_COLUMNS:
                check(ty == "TIMESTAMP WITH TIME ZONE", f"duckdb {table}.{c}: {ty}, want TIMESTAMP WITH TIME ZONE")
            elif c == "custom_fields":
                check(ty == 'STRUCT("key" VARCHAR, "value" VARCHAR)[]', f"duckdb {table}.custom_fields: {ty}")
        summary["tables"][table] = {"rows": t.num_rows, "duckdb_types": types}
    # Unicode survives, and list/struct values are usable in SQL.
    tdir = os.path.join(bag_dir, "data", "tables")
    org = con.execute(f"SELECT name FROM read_parquet('{tdir}/organizations/*.parquet') ORDER BY id LIMIT 1").fetchone()
    check(org and org[0] == "Zürich Bäckerei AG", f"organizations.name: {org!r}")
    subj = con.execute(
        f"SELECT subject, tags[1], custom_fields[1].key FROM read_parquet('{tdir}/tickets/*.parquet') "
        "WHERE id = '6'"
    ).fetchone()
    check(subj and subj[0].endswith("📦") and subj[1] == "lieferung" and subj[2] == "product", f"tickets row 6: {subj!r}")
    # The README's idioms for auditors. Ids are strings: ORDER BY id is lexical, ORDER BY
    # strlen(id), id is numeric for numeric ids and is the bundle's own row order.
    tickets = f"read_parquet('{tdir}/tickets/*.parquet')"
    lexical, natural, stored = con.execute(
        f"SELECT list(id ORDER BY id), list(id ORDER BY strlen(id), id), list(id) FROM {tickets}"
    ).fetchone()
    check(natural == stored and natural != lexical, f"id order: natural {natural}, stored {stored}, lexical {lexical}")
    # Custom field values and raw are JSON text: ::JSON makes them JSON values.
    multi = con.execute(
        f"SELECT json_array_length(cf.value::JSON), cf.value::JSON->>0 FROM {tickets} t, "
        "unnest(t.custom_fields) AS u(cf) WHERE t.id = '6' AND cf.key = 'multi'"
    ).fetchone()
    check(multi == (2, "a"), f"custom field 'multi' as JSON: {multi!r}")
    raw = con.execute(f"SELECT raw::JSON->>'$.subject' FROM {tickets} WHERE id = '6'").fetchone()
    check(raw == ("Bestellung",), f"raw as JSON: {raw!r}")
    # Timestamps are UTC instants; DuckDB shows them in the session's zone, so set it to UTC.
    con.execute("SET TimeZone = 'UTC'")
    first = con.execute(f"SELECT min(created_at)::VARCHAR FROM {tickets}").fetchone()[0]
    check(first == "2026-03-04 10:15:30+00", f"first ticket created_at in UTC: {first!r}")
    summary["problems"] = problems
    print(json.dumps(summary, ensure_ascii=False))
    if problems:
        print("\n".join(problems), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1])
