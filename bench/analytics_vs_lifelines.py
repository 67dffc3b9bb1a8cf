#!/usr/bin/env python3
"""Outcomes analytics: LimbPath against lifelines (KM + log-rank) and R survival::coxph.

Generates the synthetic cohort of shared/bench/cohort.md (seed 20240601) as CSV with 1,000,000 and
10,000,000 rows, checks each file's SHA-256 against the one cohort.md prints, then times, wall clock,
each a separate process that reads the CSV itself:
  * lifelines: pandas.read_csv + KaplanMeierFitter + multivariate_logrank_test (1M and 10M rows);
  * R: read.csv + coxph(Surv(duration_days, event) ~ factor(group), ties = "efron") (1M rows);
  * LimbPath: $LIMBPATH_CMD analytics km|logrank|cox --input FILE (both sizes).
and prints a table. Nothing here is needed by CI.

Usage:
  python3 bench/analytics_vs_lifelines.py [--dir DIR] [--sizes 1000000,10000000] [--skip-r]
  LIMBPATH_CMD="target/release/limbpath" python3 bench/analytics_vs_lifelines.py
Needs: pip install lifelines numpy pandas; apt-get install r-base-core r-cran-survival (for the R row).
A LimbPath command that is not installed is reported as "n/a".
"""
import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np

SEED = 20240601
EXPECTED_SHA256 = {
    10_000: "2532496c0bf7e6db26f390ae5a58ef040bd82308ae19eacb17e19f4fe1eefde4",
    1_000_000: "4cbfe2987f72998b61abb5c494d27d445e84fbcd152f96feb8049605e8aa8ba4",
    10_000_000: "3879bffe031d973a1521457bc3aeb2dc39b5a170e342bf4b15e3def1b38a6375",
}
MEAN_T = np.array([600.0, 900.0, 1400.0, 2500.0])
CHUNK = 1_000_000

LIFELINES_SNIPPET = """
import sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
t0 = time.perf_counter()
d = pd.read_csv(sys.argv[1])
t1 = time.perf_counter()
kmf = KaplanMeierFitter().fit(d["duration_days"], d["event"])
m = kmf.median_survival_time_
t2 = time.perf_counter()
try:
    r = multivariate_logrank_test(d["duration_days"], d["group"], d["event"])
    stat = r.test_statistic
except AssertionError as e:  # lifelines asserts |sum(O - E)| < 1e-7, which float sums can miss at 10M rows
    stat = "failed: AssertionError %s" % e
t3 = time.perf_counter()
print("read=%.3f km=%.3f logrank=%.3f median=%s chisq=%s" % (t1 - t0, t2 - t1, t3 - t2, m, stat))
"""

R_SNIPPET = """
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
t0 <- proc.time()[["elapsed"]]
d <- read.csv(args[1], colClasses = c("integer", "integer", "integer", "integer"))
t1 <- proc.time()[["elapsed"]]
fit <- coxph(Surv(duration_days, event) ~ factor(group), data = d, ties = "efron")
t2 <- proc.time()[["elapsed"]]
cat(sprintf("read=%.3f cox=%.3f coef=%s\\n", t1 - t0, t2 - t1, paste(format(coef(fit), digits = 10), collapse = ",")))
"""


def mix(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def rows(start, stop):
    i = np.arange(start, stop, dtype=np.uint64)
    with np.errstate(over="ignore"):
        u = [mix(np.uint64(SEED) + (np.uint64(4) * i + np.uint64(k + 1)) * np.uint64(0x9E3779B97F4A7C15)) for k in range(3)]
    unif = [((x >> np.uint64(11)).astype(np.float64) + 0.5) / 2.0**53 for x in u]
    group = (u[0] % np.uint64(4)).astype(np.int64)
    t = -np.log(unif[1]) * MEAN_T[group]
    c = np.minimum(-np.log(unif[2]) * 3000.0, 1825.0)
    event = (t <= c).astype(np.int64)
    duration = np.maximum(1.0, np.ceil(np.minimum(t, c))).astype(np.int64)
    return (i + np.uint64(1)).astype(np.int64), group, duration, event


def write_cohort(path, n):
    digest = hashlib.sha256()
    with open(path, "wb") as f:
        header = b"id,group,duration_days,event\n"
        f.write(header)
        digest.update(header)
        for start in range(0, n, CHUNK):
            ids, group, duration, event = rows(start, min(n, start + CHUNK))
            text = "".join("%d,%d,%d,%d\n" % r for r in zip(ids.tolist(), group.tolist(), duration.tolist(), event.tolist()))
            data = text.encode()
            f.write(data)
            digest.update(data)
    return digest.hexdigest()


def timed(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    out = (p.stdout.strip().splitlines() or [""])[-1]
    if p.returncode != 0:
        return elapsed, "exit %d: %s" % (p.returncode, (p.stderr.strip().splitlines() or [""])[-1])
    return elapsed, out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "limbpath-analytics-bench"))
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--skip-r", action="store_true")
    ap.add_argument("--skip-lifelines", action="store_true")
    args = ap.parse_args()
    limbpath = shlex.split(os.environ.get("LIMBPATH_CMD", "limbpath"))
    os.makedirs(args.dir, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]

    # The generator itself is checked on 10,000 rows whatever sizes are asked for.
    check = os.path.join(args.dir, "cohort_10000.csv")
    got = write_cohort(check, 10_000)
    if got != EXPECTED_SHA256[10_000]:
        sys.exit("generator does not reproduce cohort.md (10,000 rows hash %s)" % got)

    table = []
    for n in sizes:
        path = os.path.join(args.dir, "cohort_%d.csv" % n)
        t0 = time.perf_counter()
        digest = write_cohort(path, n)
        print("generated %s in %.1f s, sha256 %s" % (path, time.perf_counter() - t0, digest), flush=True)
        if n in EXPECTED_SHA256 and digest != EXPECTED_SHA256[n]:
            sys.exit("hash mismatch for %d rows: %s, cohort.md says %s" % (n, digest, EXPECTED_SHA256[n]))
        if not args.skip_lifelines:
            elapsed, detail = timed([sys.executable, "-c", LIFELINES_SNIPPET, path])
            table.append((n, "lifelines KM + log-rank (read_csv included)", elapsed, detail))
            print(table[-1], flush=True)
        if n <= 1_000_000 and not args.skip_r and shutil.which("Rscript"):
            elapsed, detail = timed(["Rscript", "-e", R_SNIPPET, path])
            table.append((n, "R coxph efron ~ factor(group) (read.csv included)", elapsed, detail))
            print(table[-1], flush=True)
        for what in ("km", "logrank", "cox"):
            if shutil.which(limbpath[0]) is None and not os.path.exists(limbpath[0]):
                table.append((n, "LimbPath %s" % what, None, "n/a: %s not found (set LIMBPATH_CMD)" % limbpath[0]))
                continue
            elapsed, detail = timed(limbpath + ["analytics", what, "--input", path])
            table.append((n, "LimbPath %s (file read included)" % what, elapsed, detail[:100]))
            print(table[-1], flush=True)

    print()
    print("| rows | what | wall s | detail |")
    print("|---:|---|---:|---|")
    for n, what, elapsed, detail in table:
        print("| {:,} | {} | {} | {} |".format(n, what, "%.2f" % elapsed if elapsed is not None else "n/a", detail))


if __name__ == "__main__":
    main()
