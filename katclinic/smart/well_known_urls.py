from django.urls import path

from katclinic.smart import views

app_name = "well_known"

urlpatterns = [
    path("smart-configuration", views.configuration, name="smart_configuration"),
    path("openid-configuration", views.openid, name="openid_configuration"),
]
