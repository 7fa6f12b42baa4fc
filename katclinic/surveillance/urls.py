from django.urls import URLPattern, URLResolver

app_name = "surveillance"
urlpatterns: list[URLPattern | URLResolver] = []
