from django.urls import path

from katclinic.smart import pages, views

app_name = "oauth"

urlpatterns = [
    path("authorize", views.authorize, name="authorize"),
    path("token", views.token, name="token"),
    path("revoke", views.revoke, name="revoke"),
    path("jwks", views.jwks, name="jwks"),
    path("launch/<int:patient_id>/", pages.launch, name="launch"),
    path("apps/", pages.apps, name="apps"),
    path("apps/register/", pages.register, name="register"),
    path("apps/<int:app_id>/disable/", pages.disable, name="disable"),
    path("connected/", pages.connected, name="connected"),
    path("connected/<int:grant_id>/disconnect/", pages.disconnect, name="disconnect"),
]
