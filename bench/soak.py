#!/usr/bin/env python3
"""Soak test of `limbpath serve` on loopback (issue 9): mixed load for a long
time, on SQLite or PostgreSQL, python3 standard library only.

Builds a demo programme (`limbpath demo --no-serve`), adds a clinician and a
patient account, starts the server and drives it from WORKERS threads, each on
its own keep-alive connection, picking for every request one of

  read      GET  /api/v1/patients/{id}             clinician, rotating over demo patients
  search    GET  /api/v1/patients?q=<prefix>       clinician, name prefix, first page of 50
  write     POST /api/v1/assessments               clinician, findings derived by the engine
  check_in  POST /api/v1/patients/{id}/check-ins   a patient account, for itself

with weights 40/20/25/15. Assessments are spread over the episodes of
--write-patients patients and check-ins over --check-in-patients patient
accounts, so that no record grows without bound during the run (a record that
gains hundreds of assessments makes every later write that re-reads it bigger,
which is growth of the data, not of the server).

It reports request counts by kind, status counts (no 5xx is allowed: the script
exits 1 if there is one), latency percentiles, the server's VmRSS and VmHWM from
/proc/PID/status (sampled every second) at the start of the load, at the end of
the warm-up (--warmup seconds of the same load, which fill the database page
caches, connection pools and allocator arenas), each minute, and at the end, and
the open database connections by pool each minute (from /metrics), and the audit rows
written during the whole load, read from the database before and after.

Audit rows: each of the four request kinds above is one patient-data request
that the server audits with exactly one row (authenticate -> role -> scope ->
act -> one entry: `read/patient`, `search/patient`, `create/assessment`,
`create/check_in`). An assessment on an episode that is not closed also re-runs
the episode's care plan in the same request, audited as a second row
(`run_care_plan/care_task`); the answer then carries the header
`LimbPath-Care-Tasks-Created`, which the script counts. The logins happen
before the "before" count; nothing else runs. So the rows written must equal
the requests answered plus the care-plan runs they reported (a request a
client gave up on could break this; none is expected). The script checks the
equality and prints the rows by action/entity.

Usage:
  nice -n 10 bench/soak.py --engine sqlite   [--duration 600] [--warmup 60] [--workers 8] [--patients 2000]
                                             [--write-patients 1000] [--check-in-patients 20]
  nice -n 10 bench/soak.py --engine postgres

The server is started at niceness 0 even when the script runs under `nice`
(only the load generator is deprioritised). Needs a release build
(`cargo build --release -p limbpath`; $CARGO_TARGET_DIR is honoured) and, for
postgres, PostgreSQL on 127.0.0.1:5432 with trust authentication (a database
`limbpath_soak` is dropped and created).
"""

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
PASSWORD = "soak-password-not-secret"
PG_DB = "limbpath_soak"
KINDS = [("read", 40), ("search", 20), ("write", 25), ("check_in", 15)]
PREFIXES = ["Sm", "Jo", "Mar", "Wi", "Ng", "Br", "Le", "Ka", "Ro", "Ch"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def sql_scalar(engine, data_dir, sql):
    if engine == "sqlite":
        con = sqlite3.connect(os.path.join(data_dir, "limbpath.sqlite3"), timeout=30)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", PG_DB, "-Atc", sql],
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def audit_by_action(engine, data_dir, after_id):
    sql = ("SELECT action, COALESCE(entity, ''), COUNT(*) FROM audit WHERE id > %d "
           "GROUP BY action, entity ORDER BY action, entity" % after_id)
    if engine == "sqlite":
        con = sqlite3.connect(os.path.join(data_dir, "limbpath.sqlite3"), timeout=30)
        try:
            return {f"{a}/{e}": n for a, e, n in con.execute(sql).fetchall()}
        finally:
            con.close()
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", PG_DB, "-AtF", "|", "-c", sql],
                         check=True, capture_output=True, text=True)
    rows = [line.split("|") for line in out.stdout.splitlines() if line]
    return {f"{a}/{e}": int(n) for a, e, n in rows}


def proc_status(pid):
    values = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, rest = line.split(":", 1)
                    values[key] = int(rest.split()[0])  # kB
    except OSError:
        pass
    return values


def pool_connections(base):
    """Open database connections by pool, from the server's /metrics (loopback may read it)."""
    try:
        with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        if line.startswith("limbpath_db_pool_connections{"):
            labels, value = line.rsplit(" ", 1)
            pool = labels.split('pool="', 1)[1].split('"', 1)[0]
            out[pool] = int(float(value))
    return out


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * (len(sorted_values) - 1)))))
    return sorted_values[k]


class Worker(threading.Thread):
    def __init__(self, port, plan, deadline, seed):
        super().__init__(daemon=True)
        self.port, self.plan, self.deadline = port, plan, deadline
        self.rng = random.Random(seed)
        self.latencies = {k: [] for k, _ in KINDS}
        self.statuses = {k: {} for k, _ in KINDS}
        self.failures = {k: 0 for k, _ in KINDS}
        self.care_plan_runs = 0
        self.conn = None

    def request(self, method, path, token, body):
        headers = {"Authorization": "Bearer " + token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                r = self.conn.getresponse()
                r.read()
                if r.getheader("LimbPath-Care-Tasks-Created") is not None:
                    self.care_plan_runs += 1
                return r.status
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        return None

    def run(self):
        kinds = [k for k, _ in KINDS]
        weights = [w for _, w in KINDS]
        p = self.plan
        while time.monotonic() < self.deadline:
            kind = self.rng.choices(kinds, weights)[0]
            if kind == "read":
                args = ("GET", "/api/v1/patients/" + self.rng.choice(p["readers"]), p["clinician"], None)
            elif kind == "search":
                args = ("GET", "/api/v1/patients?q=%s&limit=50" % self.rng.choice(PREFIXES), p["clinician"], None)
            elif kind == "write":
                args = ("POST", "/api/v1/assessments", p["clinician"], self.rng.choice(p["assessments"]))
            else:
                pid, token = self.rng.choice(p["patients"])
                args = ("POST", "/api/v1/patients/%s/check-ins" % pid, token, self.rng.choice(p["check_ins"]))
            t0 = time.perf_counter()
            try:
                status = self.request(*args)
            except (http.client.HTTPException, OSError):
                self.failures[kind] += 1
                continue
            self.latencies[kind].append((time.perf_counter() - t0) * 1000.0)
            self.statuses[kind][status] = self.statuses[kind].get(status, 0) + 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--duration", type=int, default=600, help="seconds of load")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--patients", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=60, help="seconds of load before the memory baseline")
    ap.add_argument("--write-patients", type=int, default=1000, help="patients whose episodes take the assessments")
    ap.add_argument("--check-in-patients", type=int, default=20, help="patient accounts that check in")
    ap.add_argument("--bin", default=os.path.join(TARGET, "release", "limbpath"))
    args = ap.parse_args()
    if not os.path.exists(args.bin):
        sys.exit(f"build first: cargo build --release -p limbpath ({args.bin} is missing)")

    data_dir = tempfile.mkdtemp(prefix=f"limbpath-soak-{args.engine}-")
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    db_args = ["--data-dir", data_dir]
    if args.engine == "postgres":
        db_args = ["--database-url", f"postgres://postgres@127.0.0.1:5432/{PG_DB}"]
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", PG_DB], check=True)
        subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_DB], check=True)
    subprocess.run([args.bin, "demo", "--no-serve", "--patients", str(args.patients)] + db_args, check=True, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    patient_ids = sql_scalar(args.engine, data_dir,
                             "SELECT group_concat(id, ',') FROM (SELECT id FROM patients ORDER BY id LIMIT %d) t"
                             % args.check_in_patients if args.engine == "sqlite" else
                             "SELECT string_agg(id, ',') FROM (SELECT id FROM patients ORDER BY id LIMIT %d) t"
                             % args.check_in_patients).split(",")

    def add_user(name, role, extra=()):
        subprocess.run([args.bin, "user", "add", "--username", name, "--role", role, "--password-stdin", *extra]
                       + db_args, input=PASSWORD, text=True, check=True, env=env, stdout=subprocess.DEVNULL)

    add_user("soak.clinician", "clinician")
    for i, pid in enumerate(patient_ids):
        add_user(f"soak.patient{i}", "patient", ["--patient-id", pid])

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(data_dir, "server.log"), "w")
    # The server runs at niceness 0 even if this script runs under `nice`.
    # One client address makes all the load and all the logins: the per-address rate limits are turned off.
    server = subprocess.Popen([args.bin, "serve", "--bind", f"127.0.0.1:{port}", "--rate-api-per-second", "0",
                               "--rate-login-per-minute", "0"] + db_args, env=env,
                              stdout=log, stderr=log, preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, 0))
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/healthz").read()
                break
            except OSError:
                time.sleep(0.1)
        clinician = api(base, "POST", "/api/v1/session", body={"username": "soak.clinician", "password": PASSWORD})
        patients = [(pid, api(base, "POST", "/api/v1/session", body={"username": f"soak.patient{i}",
                                                                      "password": PASSWORD})["token"])
                    for i, pid in enumerate(patient_ids)]
        readers, episodes = [], []
        for prefix in "ABCDEFGHIJKLMNOPRSTW":
            page = api(base, "GET", f"/api/v1/patients?q={prefix}&limit=50", clinician["token"])
            readers += [p["id"] for p in page["items"]]
        for pid in readers[-args.write_patients:]:
            record = api(base, "GET", f"/api/v1/patients/{pid}/record", clinician["token"])
            episodes += [e["id"] for e in record["episodes"]]
        with open(os.path.join(ROOT, "examples", "findings.json")) as f:
            findings = json.load(f)
        plan = {
            "clinician": clinician["token"],
            "patients": patients,
            "readers": readers,
            "assessments": [json.dumps({"episode_id": e, "assessed_on": "2026-11-21", "findings": findings}).encode()
                            for e in episodes],
            "check_ins": [json.dumps(b).encode() for b in (
                {"temperature_c": 36.8, "pain_nrs": 2},
                {"temperature_c": 37.2, "chills": False, "pain_nrs": 3, "bleeding": "none"},
                {"pain_nrs": 1, "reduced_mobility": False, "free_text": "soak test"},
            )],
        }
        audit_before = int(sql_scalar(args.engine, data_dir, "SELECT COUNT(*) FROM audit"))
        audit_max_id = int(sql_scalar(args.engine, data_dir, "SELECT COALESCE(MAX(id), 0) FROM audit"))
        rss_start = proc_status(server.pid)
        samples = []
        started = time.monotonic()
        deadline = started + args.warmup + args.duration
        workers = [Worker(port, plan, deadline, seed) for seed in range(args.workers)]
        for w in workers:
            w.start()
        rss_warm, minutes, pools = None, [], []
        while any(w.is_alive() for w in workers):
            st = proc_status(server.pid)
            samples.append(st)
            t = time.monotonic() - started
            if rss_warm is None and t >= args.warmup:
                rss_warm = st
            if t >= 60 * (len(minutes) + 1):
                minutes.append(st.get("VmRSS"))
                pools.append(pool_connections(base))
            time.sleep(1.0)
        rss_warm = rss_warm or rss_start
        for w in workers:
            w.join()
        elapsed = time.monotonic() - started
        rss_end = proc_status(server.pid)
        time.sleep(0.5)
        audit_after = int(sql_scalar(args.engine, data_dir, "SELECT COUNT(*) FROM audit"))
        audit_actions = audit_by_action(args.engine, data_dir, audit_max_id)
        if server.poll() is not None:
            sys.exit("the server exited during the soak")
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    result = {"engine": args.engine, "duration_s": round(elapsed, 1), "workers": args.workers,
              "patients": args.patients, "kinds": {}}
    total, fivexx, failures = 0, 0, 0
    for kind, _ in KINDS:
        lat = sorted(x for w in workers for x in w.latencies[kind])
        statuses = {}
        for w in workers:
            for s, n in w.statuses[kind].items():
                statuses[s] = statuses.get(s, 0) + n
        failed = sum(w.failures[kind] for w in workers)
        total += len(lat)
        failures += failed
        fivexx += sum(n for s, n in statuses.items() if s >= 500)
        result["kinds"][kind] = {
            "requests": len(lat), "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "client_failures": failed, "p50_ms": round(percentile(lat, 50), 2), "p90_ms": round(percentile(lat, 90), 2),
            "p99_ms": round(percentile(lat, 99), 2), "max_ms": round(lat[-1], 1) if lat else None,
        }
    care_runs = sum(w.care_plan_runs for w in workers)
    expected_audit = total + care_runs
    peak = max((s.get("VmRSS", 0) for s in samples), default=0)
    result.update({
        "requests": total, "requests_per_s": round(total / elapsed, 1), "5xx": fivexx, "client_failures": failures,
        "rss_kb_start": rss_start.get("VmRSS"), "hwm_kb_start": rss_start.get("VmHWM"),
        "warmup_s": args.warmup, "rss_kb_after_warmup": rss_warm.get("VmRSS"),
        "hwm_kb_after_warmup": rss_warm.get("VmHWM"), "rss_kb_each_minute": minutes,
        "pool_connections_each_minute": pools,
        "write_patients": args.write_patients, "check_in_patients": len(patient_ids),
        "rss_kb_end": rss_end.get("VmRSS"), "hwm_kb_end": rss_end.get("VmHWM"), "rss_kb_peak_sampled": peak,
        "audit_rows_written": audit_after - audit_before, "audit_rows_by_action_entity": audit_actions, "audited_requests_answered": total,
        "care_plan_runs_reported": care_runs, "audit_rows_expected": expected_audit,
    })
    print(json.dumps(result, indent=1))
    print()
    print(f"| {args.engine}, {elapsed:.0f} s, {args.workers} workers | requests | statuses | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|---|")
    for kind, k in result["kinds"].items():
        st = ", ".join(f"{s}: {n}" for s, n in k["statuses"].items())
        print(f"| {kind} | {k['requests']:,} | {st} | {k['p50_ms']} | {k['p90_ms']} | {k['p99_ms']} | {k['max_ms']} |")
    print()
    print(f"total {total:,} requests ({total / elapsed:,.1f}/s), 5xx: {fivexx}, client failures: {failures}; "
          f"server VmRSS {rss_start.get('VmRSS')} kB at start, {rss_warm.get('VmRSS')} kB after the {args.warmup} s "
          f"warm-up, {rss_end.get('VmRSS')} kB at end (peak sampled {peak} kB), VmHWM {rss_start.get('VmHWM')} -> "
          f"{rss_warm.get('VmHWM')} -> {rss_end.get('VmHWM')} kB; each minute {minutes}; "
          f"open database connections each minute {pools}; "
          f"audit rows written {audit_after - audit_before:,} "
          f"for {total:,} audited requests answered + {care_runs:,} care-plan runs they reported "
          f"(expected {expected_audit:,})")
    shutil.rmtree(data_dir, ignore_errors=True)
    if args.engine == "postgres":
        subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", PG_DB])
    ok = fivexx == 0 and audit_after - audit_before == expected_audit and failures == 0
    if not ok:
        print("FAILED: 5xx answers, client failures, or audit rows not equal to the requests answered", file=sys.stderr)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
