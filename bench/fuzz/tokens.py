"""Load the demo clinic network into the configured database and issue the fuzzer's tokens.

Run by run.py in a subprocess with the app server's environment. Prints one JSON object:
`tokens`, a bearer token per identity, each with every scope (scopes never grant more than the
person's role and clinic allow, so the widest token is the strictest test).

    north_staff   Dr. Morgan Lee, prescriber and admin at the first clinic
    south_staff   Dr. Priya Shah acting at the second clinic (same person, other clinic)
    patient       the first demo patient's portal account (first clinic)
    patient2      the second demo patient's portal account (first clinic)

and `patients`, the record id of each patient identity.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "katclinic.settings")

import django  # noqa: E402

django.setup()

from katclinic.api.models import ApiToken, Scope  # noqa: E402
from katclinic.demo.seed import build_demo  # noqa: E402

PATIENTS_PER_CLINIC = 4


def main() -> None:
    world = build_demo(patients_per_clinic=PATIENTS_PER_CLINIC)
    north, south = world.clinics
    who = {
        "north_staff": (world.staff["director"], north),
        "south_staff": (world.staff["prescriber"], south),
        "patient": (world.staff["patient"], north),
        "patient2": (world.staff["patient2"], north),
    }
    tokens = {}
    for name, (user, clinic) in who.items():
        _, raw = ApiToken.issue(
            user=user, clinic=clinic, name=f"fuzz {name}", scopes=list(Scope.values)
        )
        tokens[name] = raw
    ids = {"patient": world.patients[0].pk, "patient2": world.patients[1].pk}
    print(json.dumps({"tokens": tokens, "patients": ids}))


if __name__ == "__main__":
    main()
