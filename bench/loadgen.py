"""Drive load with wrk: one generated Lua script per scenario, figures read from its done()."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

WRK_MISSING = "wrk is not installed. On Debian or Ubuntu: sudo apt-get install wrk"
MARKER = "WRKJSON "

# done() prints one JSON line; latencies are in microseconds.
DONE_LUA = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%.0f,"duration_us":%.0f,"connect":%.0f,"read":%.0f,"write":%.0f,'
    .. '"status":%.0f,"timeout":%.0f,"p50":%.0f,"p90":%.0f,"p95":%.0f,"p99":%.0f,'
    .. '"mean":%.1f,"max":%.0f}\n',
    "MARKER", summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.mean, latency.max))
end
""".replace("MARKER", MARKER)


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str = ""
    # When given, each request sends the next of these in turn (a mix, e.g. 1 in 10 alerting).
    bodies: tuple[str, ...] = ()


@dataclass
class Result:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # socket errors and timeouts
    bad_status: int  # responses other than 2xx/3xx

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        sys.exit(WRK_MISSING)
    return path


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def lua_script(request: Request) -> str:
    lines = [f"wrk.method = {_lua_string(request.method)}"]
    for name, value in request.headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    if request.body:
        lines.append(f"wrk.body = {_lua_string(request.body)}")
    if request.bodies:
        listed = ", ".join(_lua_string(b) for b in request.bodies)
        lines += [
            f"local bodies = {{{listed}}}",
            "local turn = 0",
            "request = function()",
            "  turn = turn % #bodies + 1",
            "  return wrk.format(nil, nil, nil, bodies[turn])",
            "end",
        ]
    return "\n".join(lines) + "\n" + DONE_LUA


def probe(base_url: str, request: Request) -> tuple[int, str]:
    """One request without following redirects: a scenario answering 302 (to the sign-in
    page) would otherwise look fast and healthy to wrk."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    data = request.body.encode() if request.body else None
    url = base_url + request.path  # always http://127.0.0.1
    req = urllib.request.Request(url, data=data, method=request.method, headers=request.headers)  # noqa: S310
    try:
        with opener.open(req, timeout=30) as response:
            return response.status, response.read(300).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(300).decode(errors="replace")


def run_wrk(
    base_url: str,
    request: Request,
    *,
    seconds: float,
    connections: int,
    threads: int,
    workdir: Path,
) -> Result:
    script = workdir / "scenario.lua"
    script.write_text(lua_script(request))
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url + request.path,
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in output.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{output}")
    raw = json.loads(line[len(MARKER) :])
    elapsed = raw["duration_us"] / 1e6
    return Result(
        requests=int(raw["requests"]),
        seconds=round(elapsed, 2),
        rps=round(raw["requests"] / elapsed, 1),
        p50_ms=raw["p50"] / 1000,
        p90_ms=raw["p90"] / 1000,
        p95_ms=raw["p95"] / 1000,
        p99_ms=raw["p99"] / 1000,
        max_ms=raw["max"] / 1000,
        errors=int(raw["connect"] + raw["read"] + raw["write"] + raw["timeout"]),
        bad_status=int(raw["status"]),
    )
