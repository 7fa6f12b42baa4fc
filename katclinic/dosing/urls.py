from django.urls import URLPattern, URLResolver

app_name = "dosing"
urlpatterns: list[URLPattern | URLResolver] = []
