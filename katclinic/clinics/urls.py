from django.urls import path

from katclinic.clinics import content_views, staff_views, views

app_name = "clinics"
urlpatterns = [
    path("choose/", views.choose, name="choose"),
    path("settings/", views.clinic_settings, name="settings"),
    path("content/", content_views.content_home, name="content"),
    path("content/<slug:kind>/", content_views.content_edit, name="content_edit"),
    path("staff/", staff_views.staff_list, name="staff"),
    path("staff/invite/", staff_views.staff_invite, name="staff_invite"),
    path("staff/<int:user_id>/roles/", staff_views.staff_roles, name="staff_roles"),
    path("staff/<int:user_id>/deactivate/", staff_views.staff_deactivate, name="staff_deactivate"),
    path("invitation/<str:token>/", staff_views.accept_invitation, name="accept_invitation"),
]
