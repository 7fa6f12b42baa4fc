"""FHIR R4 routes, one read and one search route per registered resource type."""

from django.urls import URLPattern, URLResolver, path, re_path

from katclinic.bulk import views as bulk_views
from katclinic.fhir import providers, views  # noqa: F401 - providers fill the registry
from katclinic.fhir.registry import REGISTRY
from katclinic.smart import views as smart_views

app_name = "fhir"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.transaction, name="transaction"),
    path("metadata", views.metadata, name="metadata"),
    path(".well-known/smart-configuration", smart_views.configuration, name="smart_configuration"),
    path("Patient/<int:patient_id>/$everything", views.everything, name="patient_everything"),
    # Bulk Data export; before the types' routes, which would read $export as an id.
    path("$export", bulk_views.export, name="export"),
    path("Patient/$export", bulk_views.patient_export, name="patient_export"),
    path("Group/<str:group_id>/$export", bulk_views.group_export, name="group_export"),
    path("$export-status/<str:key>", bulk_views.export_status, name="export_status"),
    path(
        "$export-file/<str:key>/<str:type_name>.ndjson",
        bulk_views.export_file,
        name="export_file",
    ),
]
for resource_type in REGISTRY.values():
    urlpatterns += [
        path(
            resource_type.name,
            views.search,
            {"type_name": resource_type.name},
            name=f"{resource_type.slug}_search",
        ),
        path(
            f"{resource_type.name}/<str:resource_id>",
            views.read,
            {"type_name": resource_type.name},
            name=f"{resource_type.slug}_read",
        ),
        path(
            f"{resource_type.name}/<str:resource_id>/_history/<str:version_id>",
            views.vread,
            {"type_name": resource_type.name},
            name=f"{resource_type.slug}_vread",
        ),
    ]
# Last: anything else under the base answers an OperationOutcome, never an HTML page.
urlpatterns.append(re_path(r"^(?P<rest>.*)$", views.unknown, name="unknown"))
