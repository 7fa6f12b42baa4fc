"""Demo outcomes: fill the rollup from the demo's courses, sessions and questionnaires."""

from __future__ import annotations

from katclinic.demo.generator import DemoWorld
from katclinic.measures.models import Course
from katclinic.outcomes import services


def build(world: DemoWorld) -> None:
    """Runs after the measures and dosing builders, so every demo course has its row."""
    del world  # the rows are computed from what the other builders stored
    services.refresh_courses(Course.objects.order_by("pk"))
