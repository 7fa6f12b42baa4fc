from django.urls import URLPattern, URLResolver

app_name = "athome"
urlpatterns: list[URLPattern | URLResolver] = []
