"""URLs for the /decide load benchmark only: the product's URLs plus a bare one-INSERT view."""

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare_insert(request):
    """The floor to compare /decide with: parse nothing, one INSERT, a tiny JSON answer."""
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_bare (note) VALUES (%s) RETURNING id", ["x"])
        row_id = cursor.fetchone()[0]
    return JsonResponse({"id": row_id})


@csrf_exempt
def bare_nodb(request):
    """Middleware + routing + a JSON answer, no database: the framework's own floor."""
    return JsonResponse({"id": 1})


# The floors are not rate-limited (ADR 0025): they measure the framework, and wrk calls them
# anonymously far more often than the per-address budget allows.
bare_insert.rate_limit_exempt = True
bare_nodb.rate_limit_exempt = True

urlpatterns = [
    path("bench/bare", bare_insert),
    path("bench/nodb", bare_nodb),
    path("", include("lexecon_site.urls")),
]
