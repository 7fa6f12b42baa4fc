"""Load the shipped code sets (HCPCS, CPT, modifiers, ICD-10-CM) with their dates."""

from typing import Any

from django.db import migrations


def forwards(apps: Any, schema_editor: Any) -> None:
    from katclinic.billing.codes import load_codes

    load_codes(apps.get_model("billing", "BillingCode"))


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
