"""How fast the event receiver answers, against a bare Flask endpoint that only parses.

Both run under gunicorn with the same settings (2 workers, gthread), in the same run;
wrk drives each with 16 connections posting portal-shaped events (a new task id per
request, so nothing is deduplicated away). Goal: at least 0.75 of the bare endpoint's
throughput and p99 under 25 ms.

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 16] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

ROOT = Path(__file__).resolve().parents[1]
MEMBER = "bench0000000000000000000000000001"
APP_TOKEN = "bench-application-token"

LUA = r"""
counter = 0
request = function()
  counter = counter + 1
  local body = string.gsub(template, "TASKID", tostring(counter * 1000 + math.random(999)))
  return wrk.format("POST", "/bitrix/events",
    {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def event_template() -> str:
    pairs = [
        ("event", "ONTASKUPDATE"), ("event_handler_id", "7"),
        ("data[FIELDS_BEFORE][ID]", "TASKID"), ("data[FIELDS_AFTER][ID]", "TASKID"),
        ("data[IS_ACCESSIBLE_BEFORE]", "N"), ("data[IS_ACCESSIBLE_AFTER]", "undefined"),
        ("ts", "1764150000"), ("auth[domain]", "bench.bitrix24.com"),
        ("auth[client_endpoint]", "https://bench.bitrix24.com/rest/"),
        ("auth[server_endpoint]", "https://oauth.bitrix.info/rest/"),
        ("auth[member_id]", MEMBER), ("auth[application_token]", APP_TOKEN),
        ("auth[status]", "L"), ("auth[scope]", "crm,task,placement,user"),
        ("auth[access_token]", "x" * 70), ("auth[expires_in]", "3600"), ("auth[user_id]", "1"),
    ]
    return urlencode(pairs, safe="[]").replace("TASKID", "TASKID")


def prepare_database(env: dict[str, str]) -> None:
    code = (
        "from connector.settings import load_settings\n"
        "from connector.storage.engines import open_storage\n"
        "from connector.storage.portals import Installation\n"
        "s = open_storage(load_settings())\n"
        f"s.portals.save(Installation(member_id={MEMBER!r}, domain='bench.bitrix24.com',"
        " client_endpoint='https://bench.bitrix24.com/rest/', access_token='a',"
        f" refresh_token='r', application_token={APP_TOKEN!r}))\n"
        f"s.portals.mark_installed({MEMBER!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)


def start_gunicorn(target: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "--config", str(ROOT / "config/gunicorn.conf.py"),
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--access-logfile", "/dev/null",
            "--log-level", "warning", target,
        ],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except requests.ConnectionError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()[-2000:]) from None
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn for {target} did not start")


def run_wrk(port: int, seconds: int, connections: int, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/bitrix/events"],
        capture_output=True, text=True, check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {
        pct: _ms(re.search(rf"\s{pct}%\s+([\d.]+\w+)", out).group(1)) for pct in ("50", "99")
    }
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps, "p50_ms": latency["50"], "p99_ms": latency["99"],
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
    }


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/ingest.py needs wrk (Debian package wrk)")

    workdir = Path(tempfile.mkdtemp(prefix="tb-ingest-"))
    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "TASKBRIDGE_DATABASE_URL": os.environ.get(
            "TASKBRIDGE_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"
        ),
        "TASKBRIDGE_SECRET_KEY": Fernet.generate_key().decode(),
        "TASKBRIDGE_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    prepare_database(env)
    script = workdir / "post.lua"
    script.write_text(f"template = {json.dumps(event_template())}\n{LUA}")

    results = {}
    for name, target in (
        ("bare", "bench.bare_form_app:create_app()"),
        ("taskbridge", "webhooks.app:create_app()"),
    ):
        port = free_port()
        process = start_gunicorn(target, port, env)
        try:
            run_wrk(port, 2, args.connections, script)  # warm-up
            results[name] = run_wrk(port, args.seconds, args.connections, script)
        finally:
            process.terminate()
            process.wait(timeout=30)

    ratio = results["taskbridge"]["rps"] / results["bare"]["rps"]
    report = {
        "benchmark": "ingest",
        "connections": args.connections,
        "seconds": args.seconds,
        "database": env["TASKBRIDGE_DATABASE_URL"].split(":")[0],
        "bare": results["bare"],
        "taskbridge": results["taskbridge"],
        "ratio": round(ratio, 3),
        "ok": ratio >= 0.75 and results["taskbridge"]["p99_ms"] < 25
        and results["taskbridge"]["non_2xx"] == 0,
    }
    print(f"{'endpoint':<12} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name in ("bare", "taskbridge"):
        row = results[name]
        print(f"{name:<12} {row['rps']:>10.0f} {row['p50_ms']:>8.2f} {row['p99_ms']:>8.2f} "
              f"{row['non_2xx']:>8}")
    verdict = "ok" if report["ok"] else "MISSED"
    print(f"ratio {ratio:.2f} (goal >= 0.75), p99 goal < 25 ms: {verdict}")
    if args.json:
        print(json.dumps(report))
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
