from django.urls import URLPattern, URLResolver, path

from katclinic.protocols import adopt_views, views

app_name = "protocols"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.library, name="library"),
    path("new/", views.new_version, name="new_version"),
    path("<int:version_id>/", views.detail, name="detail"),
    path("<int:version_id>/status/", views.set_status, name="set_status"),
    path("<int:version_id>/new-from-form/", adopt_views.edit_fields, name="edit_fields"),
    path("adopt/", adopt_views.adoption_page, name="adoption"),
    path("adopt/<slug:key>/", adopt_views.adopt, name="adopt"),
    path("patients/<int:patient_id>/", views.patient_plans, name="patient_plans"),
    path("patients/<int:patient_id>/new/", views.create_plan, name="create_plan"),
    path("plans/<int:plan_id>/amend/", views.amend, name="amend"),
    path("versions/<int:version_id>/edit/", views.edit_draft, name="edit_draft"),
    path("versions/<int:version_id>/sign/", views.sign, name="sign"),
]
