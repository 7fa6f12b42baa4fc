from django.urls import path

from katclinic.clinics import clinic_views, content_views, export_views, staff_views, views

app_name = "clinics"
urlpatterns = [
    path("choose/", views.choose, name="choose"),
    path("settings/", views.clinic_settings, name="settings"),
    path("content/", content_views.content_home, name="content"),
    path("content/<slug:kind>/", content_views.content_edit, name="content_edit"),
    path("staff/", staff_views.staff_list, name="staff"),
    path("staff/invite/", staff_views.staff_invite, name="staff_invite"),
    path("staff/<int:user_id>/roles/", staff_views.staff_roles, name="staff_roles"),
    path("staff/<int:user_id>/name/", staff_views.staff_name, name="staff_name"),
    path("staff/<int:user_id>/deactivate/", staff_views.staff_deactivate, name="staff_deactivate"),
    path("invitation/<str:token>/", staff_views.accept_invitation, name="accept_invitation"),
    path("settings/area/<slug:area>/", views.settings_area, name="settings_area"),
    path("staff/second-factor/", staff_views.second_factor_list, name="second_factor"),
    path(
        "staff/<int:user_id>/second-factor/",
        staff_views.second_factor_request,
        name="second_factor_request",
    ),
    path(
        "staff/second-factor/<int:reset_id>/confirm/",
        staff_views.second_factor_confirm,
        name="second_factor_confirm",
    ),
    path(
        "staff/second-factor/<int:reset_id>/cancel/",
        staff_views.second_factor_cancel,
        name="second_factor_cancel",
    ),
    path("organization/clinics/new/", clinic_views.add_clinic, name="add_clinic"),
    path("export/", export_views.export_page, name="export"),
    path("export/download/", export_views.export_download, name="export_download"),
    path(
        "export/patient/<int:patient_id>/",
        export_views.patient_export_download,
        name="patient_export",
    ),
]
