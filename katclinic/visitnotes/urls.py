from django.urls import URLPattern, URLResolver, path

from katclinic.visitnotes import views

app_name = "visitnotes"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.mine, name="mine"),
    path("patients/<int:patient_id>/", views.chart, name="chart"),
    path("patients/<int:patient_id>/new/", views.new, name="new"),
    path("<int:note_id>/", views.note, name="note"),
    path("<int:note_id>/edit/", views.edit, name="edit"),
    path("<int:note_id>/sign/", views.sign, name="sign"),
    path("<int:note_id>/addendum/", views.addendum, name="addendum"),
]
