from django.urls import path

from katclinic.clinics import views

app_name = "clinics"
urlpatterns = [
    path("choose/", views.choose, name="choose"),
    path("settings/", views.clinic_settings, name="settings"),
]
