from typing import Any

from django.db import migrations
from django.db.models import F


def backfill(apps: Any, schema_editor: Any) -> None:
    """Versions loaded from the shipped library kept the shipped number as their own."""
    version = apps.get_model("protocols", "ProtocolVersion")
    version.objects.filter(change_note="Shipped with KAT Clinic", shipped_version=None).update(
        shipped_version=F("version")
    )


class Migration(migrations.Migration):
    dependencies = [("protocols", "0004_protocolversion_shipped_version")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
