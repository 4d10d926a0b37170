from django.urls import path

from sessions_app.join import views as join_views

app_name = "join"

urlpatterns = [
    path("", join_views.join_lobby, name="lobby"),
    path("<str:token>/", join_views.join_enter, name="enter"),
]
