"""The product's routes and the benchmark's yardstick: a logged-in page that renders base.html after one
query, the cheapest page this stack can serve (bench/pages.py divides every page's throughput by its)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import include, path

from sessions_app.models import Session


@login_required
def trivial(request):
    return render(
        request, "bench/trivial.html", {"sessions": Session.objects.filter(host=request.user).count()}
    )


urlpatterns = [
    path("bench/trivial/", trivial, name="bench_trivial"),
    path("", include("config.urls")),
]
