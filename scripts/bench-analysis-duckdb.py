#!/usr/bin/env python3
"""DuckDB answering the analysis questions Sentinel answers, on the same data
(facts.csv written by `sentinel-loadgen analysis --csv DIR`), loaded into an
in-memory table first (as Sentinel holds its facts in memory). Prints medians of
11 runs and checks the counts against Sentinel's.

    python3 scripts/bench-analysis-duckdb.py DIR SENTINEL_OUTPUT
"""
import datetime
import re
import statistics
import sys
import time

import duckdb

folder, sentinel_out = sys.argv[1], sys.argv[2]
EPOCH = datetime.date(1970, 1, 1)


def day(y, m, d):
    return (datetime.date(y, m, d) - EPOCH).days


con = duckdb.connect()
t = time.time()
con.execute(f"CREATE TABLE facts AS SELECT * FROM read_csv_auto('{folder}/facts.csv', header=true)")
con.execute(f"CREATE TABLE jurisdictions AS SELECT * FROM read_csv_auto('{folder}/jurisdictions.csv', header=true)")
rows = con.execute("SELECT count(*) FROM facts").fetchone()[0]
print(f"duckdb {duckdb.__version__}: {rows} rows loaded in {time.time() - t:.1f} s (not timed below)")


def trend(key, c, y, m, join=""):
    (c0, c1), (y0, y1), (m0, m1) = c, y, m
    return f"""
    SELECT {key} AS k,
      count(*) FILTER (WHERE day >= {c0} AND day < {c1}) AS now,
      count(*) FILTER (WHERE day >= {y0} AND day < {y1}) AS yoy,
      count(*) FILTER (WHERE day >= {m0} AND day < {m1}) AS mom
    FROM facts f {join}
    WHERE excluded = 0 AND ((day >= {c0} AND day < {c1}) OR (day >= {y0} AND day < {y1}) OR (day >= {m0} AND day < {m1}))
    GROUP BY {key}"""


def scores(a, b):
    return [
        f"""SELECT department, count(*), sum(accept_known), sum(accept_on_time), sum(resolved),
              sum(resolve_known), sum(resolve_on_time), count(rating), count(*) FILTER (WHERE rating >= 4),
              sum(reopened * resolved),
              quantile_disc(accept_s, 0.5), quantile_disc(accept_s, 0.9),
              quantile_disc(resolve_s, 0.5), quantile_disc(resolve_s, 0.9)
            FROM facts WHERE excluded = 0 AND department IS NOT NULL AND day >= {a} AND day < {b}
            GROUP BY department""",
        f"""SELECT returned_by, count(*) FROM facts
            WHERE excluded = 0 AND returned_by IS NOT NULL AND day >= {a} AND day < {b} GROUP BY returned_by""",
    ]


month = ((day(2026, 10, 1), day(2026, 11, 1)), (day(2025, 10, 1), day(2025, 11, 1)), (day(2026, 9, 1), day(2026, 10, 1)))
quarter = ((day(2026, 7, 1), day(2026, 10, 1)), (day(2025, 7, 1), day(2025, 10, 1)), (day(2026, 4, 1), day(2026, 7, 1)))
year = ((day(2025, 1, 1), day(2026, 1, 1)), (day(2024, 1, 1), day(2025, 1, 1)), (day(2024, 1, 1), day(2025, 1, 1)))
district_join = "JOIN jurisdictions j ON f.jurisdiction = j.code"
cases = [
    ("trends category month 2026-10", [trend("category", *month)]),
    ("trends department quarter 2026-Q3", [trend("department", *quarter)]),
    ("trends district year 2025", [trend("j.district", *year, join=district_join)]),
    ("trends grid month 2026-10", [trend("jurisdiction", *month)]),
    # Scores with their 同比: this period and the same one a year before.
    ("department scores month 2026-10", scores(*month[0]) + scores(*month[1])),
    ("department scores year 2025", scores(*year[0]) + scores(*year[1])),
    ("hour x weekday month 2026-10", [f"""SELECT isodow(DATE '1970-01-01' + CAST(day AS INTEGER)) AS wd, minute // 60 AS h, count(*)
        FROM facts WHERE excluded = 0 AND day >= {month[0][0]} AND day < {month[0][1]} GROUP BY wd, h"""]),
]

sentinel = {}
for line in open(sentinel_out):
    m = re.match(r"\s+(.+?)\s+p50\s+([\d.]+) ms", line)
    if m:
        sentinel[m.group(1)] = float(m.group(2))
    if line.startswith("check:"):
        check = line

# The same counts as Sentinel's.
now, yoy, mom = con.execute(f"SELECT sum(now), sum(yoy), sum(mom) FROM ({trend('category', *month)})").fetchone()
d = con.execute(f"SELECT sum(now), sum(now) FILTER (WHERE k = 'd0') FROM ({trend('j.district', *year, join=district_join)})").fetchone()
mine = f"category month 2026-10 now={now} yoy={yoy} mom={mom}; district year 2025 now={d[0]} d0={d[1]}"
assert mine in check, f"DuckDB: {mine}\nSentinel: {check}"
print(f"counts agree: {mine}")

print(f"{'query':<36} {'sentinel':>10} {'duckdb':>10} {'duckdb/sentinel':>16}")
for name, sqls in cases:
    for q in sqls:
        con.execute(q).fetchall()  # warm
    times = []
    for _ in range(11):
        t = time.perf_counter()
        for q in sqls:
            con.execute(q).fetchall()
        times.append((time.perf_counter() - t) * 1000)
    ours = sentinel.get(name)
    med = statistics.median(times)
    ratio = f"{med / ours:.1f}x" if ours else "-"
    print(f"{name:<36} {ours if ours is not None else float('nan'):>8.2f}ms {med:>8.2f}ms {ratio:>16}")
