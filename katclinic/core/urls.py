from django.urls import path

from katclinic.core import language, metrics, views

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("metrics", metrics.metrics, name="metrics"),
    path("today/", views.worklist, name="worklist"),
    path("language/", language.set_language, name="set_language"),
]
