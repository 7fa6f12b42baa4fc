"""Seed the peer's database: run with the peer's own Python (its virtual environment).

    PEER_VENV/bin/python bench/peer_seed.py --config trytond.conf --database bench_gnuhealth \
        --patients 1000 --evaluations 3

Works through trytond's own models (the same `create` and validation code the JSON-RPC
calls run), as the root user: a currency, a company with its institution, the admin user
in every group and made a health professional (GNU Health refuses an evaluation without
one), then patients with a few evaluations of six vital signs each. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, date, datetime, timedelta

from trytond.config import config
from trytond.pool import Pool
from trytond.transaction import Transaction

BATCH = 500


def clinic(pool: Pool) -> dict[str, int]:
    """The company, its institution and the admin user as a health professional."""
    currency = pool.get("currency.currency").create(
        [{"name": "US Dollar", "code": "USD", "symbol": "$"}]
    )[0]
    party_model = pool.get("party.party")
    place = party_model.create([{"name": "Bench Clinic", "is_institution": True}])[0]
    company = pool.get("company.company").create([{"party": place.id, "currency": currency.id}])
    pool.get("gnuhealth.institution").create(
        [
            {
                "party": place.id,
                "code": "BENCH",
                "institution_type": "clinic",
                "public_level": "private",
            }
        ]
    )
    user_model = pool.get("res.user")
    admin = user_model.search([("login", "=", "admin")])[0]
    groups = [g.id for g in pool.get("res.group").search([])]
    user_model.write(
        [admin],
        {"companies": [("add", [company[0].id])], "company": company[0].id},
    )
    user_model.write([admin], {"groups": [("add", groups)]})
    nurse = party_model.create([person(0, healthprof=True) | {"internal_user": admin.id}])[0]
    prof = pool.get("gnuhealth.healthprofessional").create([{"party": nurse.id}])[0]
    return {"company": company[0].id, "healthprof": prof.id, "admin": admin.id}


def person(n: int, *, healthprof: bool = False) -> dict[str, object]:
    """A person's party; PUID and federation account given, as a batch shares one otherwise."""
    return {
        "name": f"Given{n}",
        "lastname": f"Family{n}",
        "is_person": True,
        "is_patient": not healthprof,
        "is_healthprof": healthprof,
        "gender": "f" if n % 2 else "m",
        "dob": date(1960, 1, 1) + timedelta(days=97 * n % 15000),
        "ref": f"BENCH{n:07d}",
        "federation_account": f"XXXBENCH{n:07d}",
        "fed_country": "XXX",
    }


def vitals(rng: random.Random) -> dict[str, int]:
    return {
        "systolic": rng.randint(105, 145),
        "diastolic": rng.randint(60, 92),
        "bpm": rng.randint(55, 100),
        "respiratory_rate": rng.randint(12, 20),
        "osat": rng.randint(94, 100),
        "temperature": round(rng.uniform(36.1, 37.4), 1),
    }


def patients(pool: Pool, ids: dict[str, int], count: int, evaluations: int) -> list[int]:
    rng = random.Random(20)
    made: list[int] = []
    start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=30)
    for first in range(1, count + 1, BATCH):
        numbers = range(first, min(first + BATCH, count + 1))
        # GNU Health's Party.create handles one party per call (it inserts its whole list
        # once per entry), so parties go one by one; patients and evaluations in batches.
        parties = [pool.get("party.party").create([person(n)])[0] for n in numbers]
        rows = pool.get("gnuhealth.patient").create([{"party": p.id} for p in parties])
        made += [r.id for r in rows]
        pool.get("gnuhealth.patient.evaluation").create(
            [
                {
                    "patient": r.id,
                    "healthprof": ids["healthprof"],
                    "evaluation_start": start + timedelta(days=3 * k, minutes=r.id),
                    **vitals(rng),
                }
                for r in rows
                for k in range(evaluations)
            ]
        )
    return made


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--config", required=True)
    p.add_argument("--database", required=True)
    p.add_argument("--patients", type=int, default=1000)
    p.add_argument("--evaluations", type=int, default=3, help="evaluations per patient")
    args = p.parse_args()
    config.update_etc(args.config)
    began = time.monotonic()
    pool = Pool(args.database)
    pool.init()
    with Transaction().start(args.database, 0, context={}) as transaction:
        ids = clinic(pool)
        with transaction.set_context(company=ids["company"]):
            made = patients(pool, ids, args.patients, args.evaluations)
        transaction.commit()
    seconds = round(time.monotonic() - began, 1)
    print(json.dumps(ids | {"patients": made[:1] + made[-1:], "seconds": seconds}))


if __name__ == "__main__":
    main()
