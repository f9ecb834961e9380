from django.conf import settings


def marketplace(request):
    return {
        "marketplace": getattr(request, "marketplace", None),
        "LANGUAGE_CHOICES": settings.LANGUAGES,
    }
