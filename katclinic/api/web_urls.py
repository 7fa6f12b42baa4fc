from django.urls import path

from katclinic.api import views

app_name = "tokens"

urlpatterns = [
    path("", views.tokens, name="list"),
    path("issue/", views.issue, name="issue"),
    path("<int:token_id>/revoke/", views.revoke, name="revoke"),
]
