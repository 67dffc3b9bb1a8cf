#!/usr/bin/env python3
"""HTTP load benchmark of `limbpath serve` on loopback with wrk (issue #3).

Builds a demo programme (`limbpath demo --no-serve --patients N`) on SQLite or
PostgreSQL, starts the server, logs in a clinician, and drives it with wrk:

  get_patient    GET  /api/v1/patients/{id}          (rotating over demo patients)
  get_record     GET  /api/v1/patients/{id}/record   (the whole limb record)
  search         GET  /api/v1/patients?q=<prefix>    (name prefix, first page)
  post_assessment POST /api/v1/assessments          (findings derived by the engine)

Every request is authenticated (bearer token), authorised and audited, as in
production. After each run the audit rows written are counted and compared with
the requests wrk completed: they must be equal up to the requests still in
flight when wrk stopped (at most one per connection).

Usage:
  bench/http_load.py --engine sqlite --patients 100000 [--duration 20] [--connections 32]
  bench/http_load.py --engine postgres --patients 100000

Needs: a release build (cargo build --release), wrk (apt-get install wrk),
PostgreSQL on 127.0.0.1:5432 for --engine postgres. Prints a Markdown table.
"""

import argparse
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("LIMBPATH_BIN") or os.path.join(ROOT, "target", "release", "limbpath")
PASSWORD = "bench-password-not-secret"
PG_DB = "limbpath_http_load"


def cpu_seconds(pid):
    """User + system CPU time the process has used, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def audit_rows(engine, data_dir):
    if engine == "sqlite":
        con = sqlite3.connect(os.path.join(data_dir, "limbpath.sqlite3"))
        n = con.execute("SELECT COUNT(*) FROM audit").fetchone()[0]
        con.close()
        return n
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", PG_DB, "-Atc", "SELECT COUNT(*) FROM audit"],
        check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def parse_wrk(text):
    def num(pattern, scale=None):
        m = re.search(pattern, text)
        return m.group(1) if m else None

    def ms(v):
        m = re.match(r"([\d.]+)(us|ms|s)", v)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    requests = int(num(r"(\d+) requests in"))
    rps = float(num(r"Requests/sec:\s+([\d.]+)"))
    p50 = ms(num(r"\s50%\s+(\S+)"))
    p99 = ms(num(r"\s99%\s+(\S+)"))
    non2xx = int(num(r"Non-2xx or 3xx responses: (\d+)") or 0)
    errors = num(r"Socket errors: (.*)")
    return {"requests": requests, "rps": rps, "p50_ms": p50, "p99_ms": p99, "non_2xx": non2xx, "socket_errors": errors}


LUA_ROTATE = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, paths[(i %% #paths) + 1])
end
"""

LUA_POST = """
local bodies = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/api/v1/assessments", nil, bodies[(i %% #bodies) + 1])
end
"""


def lua_string(s):
    return "[==[" + s + "]==]"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (the server has the other core)")
    ap.add_argument("--reuse", action="store_true", help="reuse the database of a previous run")
    ap.add_argument("--only", default="get_patient,get_record,search,post_assessment")
    args = ap.parse_args()

    if not os.path.exists(BIN):
        sys.exit("build first: cargo build --release")
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    data_dir = os.path.join(tempfile.gettempdir(), f"limbpath-http-load-{args.engine}")
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    db_args = ["--data-dir", data_dir]
    if args.engine == "postgres":
        url = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
        db_args = ["--database-url", url]
    if not args.reuse:
        if args.engine == "postgres":
            subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", PG_DB], check=True)
            subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", PG_DB], check=True)
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
        t0 = time.monotonic()
        subprocess.run([BIN, "demo", "--no-serve", "--patients", str(args.patients)] + db_args, check=True, env=env,
                       stdout=subprocess.DEVNULL)
        build_s = time.monotonic() - t0
        print(f"demo --patients {args.patients} on {args.engine}: {build_s:.1f} s", flush=True)
        subprocess.run([BIN, "user", "add", "--username", "bench.clinician", "--role", "clinician",
                        "--password-stdin"] + db_args, input=PASSWORD, text=True, check=True, env=env,
                       stdout=subprocess.DEVNULL)

    # The server's warnings and errors (a file: a pipe nobody drains would block it once full).
    server_log = tempfile.NamedTemporaryFile("w+", prefix="limbpath-http-load-", suffix=".log", delete=False)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([BIN, "serve", "--bind", f"127.0.0.1:{port}",
                               # measure the server, not the per-address limits; no per-request log lines
                               # into a pipe nobody drains
                               "--rate-api-per-second", "0", "--rate-login-per-minute", "0",
                               "--log-level", "warn"] + db_args, env=env,
                              stdout=subprocess.DEVNULL, stderr=server_log)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/v1/openapi.json").read()
                break
            except OSError:
                time.sleep(0.1)
        token = api(base, "POST", "/api/v1/session", body={"username": "bench.clinician", "password": PASSWORD})["token"]

        # Patients spread over the cohort: pages from several name prefixes.
        patients = []
        for prefix in "ABCDEFGHIJKLMNOPRSTW":
            page = api(base, "GET", f"/api/v1/patients?q={prefix}&limit=50", token)
            patients += [p["id"] for p in page["items"]]
        # Assessments are posted to other patients than those read, so that
        # repeated runs (--reuse) do not grow the records being read.
        readers, writers = patients[: len(patients) // 2], patients[len(patients) // 2:]
        episodes = []
        for pid in writers[:200]:
            record = api(base, "GET", f"/api/v1/patients/{pid}/record", token)
            episodes += [e["id"] for e in record["episodes"]]
        with open(os.path.join(ROOT, "examples", "findings.json")) as f:
            findings = json.load(f)
        bodies = [json.dumps({"episode_id": e, "assessed_on": "2026-11-21", "findings": findings},
                             separators=(",", ":")) for e in episodes[:200]]

        scripts = {
            "get_patient": LUA_ROTATE % ",".join(lua_string(f"/api/v1/patients/{p}") for p in readers),
            "get_record": LUA_ROTATE % ",".join(lua_string(f"/api/v1/patients/{p}/record") for p in readers),
            "search": LUA_ROTATE % ",".join(lua_string(f"/api/v1/patients?q={s}&limit=50")
                                            for s in ["Sm", "Jo", "Mar", "Wi", "Ng", "Br", "Le", "Ka"]),
            "post_assessment": LUA_POST % ",".join(lua_string(b) for b in bodies),
        }
        rows = []
        for name in args.only.split(","):
            with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
                f.write(scripts[name])
                f.write('\nwrk.headers["Authorization"] = "Bearer %s"\n' % token)
                f.write('wrk.headers["Content-Type"] = "application/json"\n')
                lua = f.name
            # A short unmeasured run first: warms the page cache and lets the
            # analysis-table read that `serve` starts at start-up finish.
            subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", "3s", "-s", lua, base],
                           check=True, capture_output=True)
            time.sleep(0.5)
            before = audit_rows(args.engine, data_dir)
            cpu_before = cpu_seconds(server.pid)
            out = subprocess.run(["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d",
                                  f"{args.duration}s", "--latency", "-s", lua, base],
                                 check=True, capture_output=True, text=True).stdout
            os.unlink(lua)
            time.sleep(0.5)
            cpu = cpu_seconds(server.pid) - cpu_before
            after = audit_rows(args.engine, data_dir)
            r = parse_wrk(out)
            # Server CPU per request: comparable between runs even when other
            # work shares the machine (requests/s is not).
            r["server_cpu_us"] = round(cpu * 1e6 / max(r["requests"], 1))
            r["name"] = name
            r["audit_rows"] = after - before
            rows.append(r)
            print(json.dumps(r), flush=True)
        print()
        print(f"| {args.engine} | requests/s | p50 ms | p99 ms | requests | non-2xx | audit rows written | "
              "server CPU per request |")
        print("|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['name']} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['requests']:,} | "
                  f"{r['non_2xx']} | {r['audit_rows']:,} | {r['server_cpu_us']} µs |")
    finally:
        server.terminate()
        server.wait(timeout=30)
        server_log.seek(0)
        logged = server_log.read().splitlines()
        if logged:
            print(f"\nthe server logged {len(logged)} lines at warn or above ({server_log.name}); the last:")
            for line in logged[-10:]:
                print("  " + line)


if __name__ == "__main__":
    main()
