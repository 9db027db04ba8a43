from django.http import JsonResponse

from .models import Charger


def health(request):
    """Liveness for load balancers: the database answers."""
    return JsonResponse({"status": "ok", "chargers": Charger.objects.count()})
