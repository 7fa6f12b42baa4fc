from django.urls import path

from katclinic.clinics import first_run

app_name = "setup"
urlpatterns = [path("", first_run.first_run, name="start")]
