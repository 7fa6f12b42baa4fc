"""On an install made before organization administrators existed, the administrators of an
organization's only clinic administer the organization, so someone can add a second clinic."""

from typing import Any

from django.db import migrations


def grant(apps: Any, schema_editor: Any) -> None:
    organization_model = apps.get_model("clinics", "Organization")
    membership_model = apps.get_model("clinics", "StaffMembership")
    admin_model = apps.get_model("clinics", "OrganizationAdmin")
    for organization in organization_model.objects.all():
        clinics = list(organization.clinics.values_list("pk", flat=True))
        if len(clinics) != 1:
            continue
        users = membership_model.objects.filter(
            clinic_id=clinics[0], role="admin", is_active=True, user__is_active=True
        ).values_list("user_id", flat=True)
        for user_id in set(users):
            admin_model.objects.get_or_create(organization=organization, user_id=user_id)


class Migration(migrations.Migration):
    dependencies = [("clinics", "0004_admin_settings_resets")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
