from django.urls import URLPattern, URLResolver

app_name = "protocols"
urlpatterns: list[URLPattern | URLResolver] = []
