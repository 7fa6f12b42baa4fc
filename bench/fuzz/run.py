"""Fuzz the JSON API with schemathesis against a live demo server on a throwaway database.

    make fuzz                                        # the short run CI does
    make fuzz FUZZ_SECONDS=1800 FUZZ_EXAMPLES=200    # a long run: 30 minutes per identity

One run: a temporary DATA_DIR, `migrate`, the demo clinic network with four tokens
(tokens.py), the development server (KATCLINIC_DEV=1), then schemathesis over
/api/openapi.json once as the first clinic's staff and once as a patient, each with the
examples, coverage, fuzzing and stateful phases. Checks: no server error, no ignored
authentication, schemathesis's object-level authorization check between peers that must
not see each other's records, and hooks.py's replay of every record read with an
outsider's token. Exits non-zero on any failure; reports land in --report-dir.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from servers import serve  # noqa: E402

STRIPPED = (
    "DATABASE_URL",
    "TEST_DATABASE_NAME",
    "SQLITE_PATH",
    "KATCLINIC_DEMO",
    "KATCLINIC_TESTING",
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "SCHEMATHESIS_HOOKS",
)
CHECKS = "not_a_server_error,ignored_auth,object_level_authorization,other_clinic_or_patient_gets_nothing"
# `--profile all`: every check schemathesis has (status, content-type, header and response
# schema conformance, negative data rejection, positive data acceptance, unsupported
# methods, use after free, resource availability, ...) plus this project's own.
PROFILES = {
    "default": CHECKS,
    "all": "all,other_clinic_or_patient_gets_nothing",
}
PHASES = "examples,coverage,fuzzing,stateful"
# Who the fuzzer acts as, and which identities must not see each other's records.
RUNS = {
    "staff": ("north_staff", ["north_staff", "south_staff"]),
    "patient": ("patient", ["patient", "patient2", "south_staff"]),
}


def step(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def write_config(work: Path, seeded: dict[str, Any], user: str, peers: list[str]) -> Path:
    """A Web Fuzzing Commons auth document and a schemathesis config naming the peers.

    A patient's record id is not listed anywhere a patient may read, so the patient run is
    given its own; staff find ids through the patient list.
    """
    tokens = seeded["tokens"]
    document = {
        "auth": [
            {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {raw}"}]}
            for name, raw in tokens.items()
        ]
    }
    auth = work / f"auth-{user}.json"
    auth.write_text(json.dumps(document))
    config = work / f"schemathesis-{user}.toml"
    parameters = {"key": "phq9"}
    if user in seeded["patients"]:
        parameters["patient_id"] = seeded["patients"][user]
    config.write_text(
        "[parameters]\n"
        + "".join(f"{k} = {json.dumps(v)}\n" for k, v in parameters.items())
        + f'[auth.wfc]\npath = "{auth}"\nuser = "{user}"\npeers = {json.dumps(peers)}\n'
        + DATA_RULES
    )
    return config


# Where a schema-valid request is rightly refused (the `all` profile's positive data
# acceptance check), and why. A response's answers are checked against the instrument's own
# definition, which is clinic data the OpenAPI document cannot spell out: an unknown
# instrument or a missing item is a 422 naming the field. Links the stateful phase infers
# from a nullable `patient_id` (a consultation request not yet linked to a patient) put
# "None" into an integer path, which the API refuses with a 422 naming `patient_id`.
ACCEPTED_REFUSALS = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
DATA_RULES = "".join(
    f"\n[[operations]]\n{selector}\nchecks.positive_data_acceptance.expected-statuses = "
    f"{json.dumps(ACCEPTED_REFUSALS)}\n"
    for selector in (
        'include-path = "/api/measures/responses"\ninclude-method = "POST"',
        'include-path-regex = "\\\\{patient_id\\\\}"',
    )
)


def fuzz(args: argparse.Namespace, env: dict[str, str], base: str, config: Path, name: str) -> int:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{base}/api/openapi.json",
        "--phases",
        args.phases,
        "--checks",
        PROFILES[args.profile],
        "--workers",
        str(args.workers),
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-junit-path",
        str(args.report_dir / f"fuzz-{name}{'' if args.profile == 'default' else '-all'}.xml"),
    ]
    if args.max_time:
        command += ["--max-time", str(args.max_time)]
    print(f"\n--- as {name}: {' '.join(command[3:6])} ...", flush=True)
    # schemathesis keeps a cache in its working directory: the throwaway one, not the checkout.
    return subprocess.run(command, env=env, cwd=config.parent, check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--max-examples", type=int, default=5, help="cases per operation and phase")
    parser.add_argument(
        "--max-time",
        type=int,
        default=30,
        help="seconds per identity; fuzzing repeats until spent (0: no budget)",
    )
    parser.add_argument("--phases", default=PHASES)
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default="default",
        help="which checks: the CI set (default) or every check schemathesis has (all)",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", choices=sorted(RUNS), help="fuzz as one identity only")
    parser.add_argument("--report-dir", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--keep", action="store_true", help="keep the temporary DATA_DIR")
    args = parser.parse_args()
    args.report_dir.mkdir(parents=True, exist_ok=True)

    work = Path(tempfile.mkdtemp(prefix="katclinic-fuzz-"))
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED}
    env.update(
        {
            "KATCLINIC_DEV": "1",
            "DATA_DIR": str(work / "data"),
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        }
    )
    started = time.monotonic()
    try:
        step(env, "manage.py", "migrate", "--noinput")
        seeded = json.loads(step(env, str(HERE / "tokens.py")).strip().splitlines()[-1])
        (work / "tokens.json").write_text(json.dumps(seeded["tokens"]))
        print(f"demo database ready in {time.monotonic() - started:.0f} s", flush=True)
        log = work / "server.log"
        failed = []
        runserver = [
            sys.executable,
            "manage.py",
            "runserver",
            "127.0.0.1:{port}",
            "--noreload",
            "--skip-checks",
        ]
        with serve(runserver, env, "/api/openapi.json", log) as base:
            fuzz_env = env | {
                "SCHEMATHESIS_HOOKS": "bench.fuzz.hooks",
                "FUZZ_TOKENS": str(work / "tokens.json"),
                "PYTHONPATH": str(ROOT),
            }
            for name, (user, peers) in RUNS.items():
                if args.only and name != args.only:
                    continue
                if fuzz(args, fuzz_env, base, write_config(work, seeded, user, peers), name):
                    failed.append(name)
        errors = [line for line in log.read_text().splitlines() if "Traceback" in line]
        print(
            f"\nfuzz: {time.monotonic() - started:.0f} s; server tracebacks: {len(errors)}; "
            f"failed runs: {', '.join(failed) or 'none'}; server log: {log}"
        )
        if failed or errors:
            args.keep = True
            sys.exit(1)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
