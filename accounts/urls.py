from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("scheduling/", views.scheduling, name="scheduling"),
    path("scheduling/act-for/<int:host_id>/", views.act_for, name="act_for"),
    path("scheduling/stop/", views.stop_acting, name="stop_acting"),
]
