from django.conf import settings


def exchange_flags(request) -> dict:
    return {"demo_mode": settings.EXCHANGE_DEMO_MODE}
