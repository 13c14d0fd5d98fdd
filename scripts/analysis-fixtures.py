#!/usr/bin/env python3
"""Reference values for the analysis crate's statistics, computed with SciPy (an
independent implementation). Run once; the output is committed as fixtures.

    pip install scipy==1.17.1
    python3 scripts/analysis-fixtures.py crates/sentinel-analysis/tests/fixtures
"""
import random
import sys

import scipy
from scipy.stats import binomtest, false_discovery_control

out = sys.argv[1]
random.seed(20261126)
cases = [
    (0, 30, 5, 30), (5, 30, 0, 30), (10, 31, 10, 31), (12, 28, 20, 31), (100, 30, 120, 30),
    (80, 31, 120, 31), (1, 1, 0, 1), (3, 7, 9, 7), (50, 365, 40, 366), (7, 7, 30, 28),
    (0, 7, 10, 28), (1000, 30, 1100, 30), (950, 31, 1050, 31), (20000, 30, 20500, 30),
    (15, 91, 30, 92), (2, 1, 2, 1), (40, 30, 20, 30), (9, 30, 10, 30),
]
for _ in range(40):
    t1 = random.choice([1, 7, 28, 30, 31, 90, 91, 92, 365, 366])
    t0 = random.choice([t1, t1, 28, 31, 365])
    scale = random.choice([3, 20, 200, 5000])
    x1 = random.randint(0, scale)
    x0 = random.randint(0, scale)
    cases.append((x1, t1, x0, t0))

with open(f"{out}/rate_tests.csv", "w") as f:
    f.write(f"# scipy {scipy.__version__}: binomtest(x1, x1 + x0, t1 / (t1 + t0)), two-sided and greater\n")
    f.write("# made by: python3 scripts/analysis-fixtures.py crates/sentinel-analysis/tests/fixtures\n")
    f.write("x1,t1,x0,t0,p_two_sided,p_greater\n")
    for x1, t1, x0, t0 in cases:
        n = x1 + x0
        if n == 0:
            two, greater = 1.0, 1.0
        else:
            p = t1 / (t1 + t0)
            two = binomtest(x1, n, p).pvalue
            greater = binomtest(x1, n, p, alternative="greater").pvalue if x1 > 0 else 1.0
        f.write(f"{x1},{t1},{x0},{t0},{float(two)!r},{float(greater)!r}\n")

ps = [random.random() ** 3 for _ in range(25)] + [0.0001, 0.04, 0.04, 1.0]
with open(f"{out}/bh.csv", "w") as f:
    f.write(f"# scipy {scipy.__version__}: false_discovery_control(p, method='bh'); first line p, second adjusted\n")
    f.write(",".join(repr(p) for p in ps) + "\n")
    f.write(",".join(repr(float(q)) for q in false_discovery_control(ps, method="bh")) + "\n")
