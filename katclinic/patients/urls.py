from django.urls import path, re_path

from katclinic.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="list"),
    path("new/", views.register, name="register"),
    path("<int:patient_id>/", views.chart, name="chart"),
    path("<int:patient_id>/edit/", views.edit, name="edit"),
    re_path(
        r"^(?P<patient_id>[0-9]+)/add/(?P<kind>weight|allergy|medication|diagnosis)/$",
        views.add_item,
        name="add_item",
    ),
]
