"""DRF's content negotiation, answering the plain case without parsing the ``Accept`` header.

Every API response is JSON (one renderer). DRF still tokenises and parses the ``Accept`` header
into media types and orders them by precedence for every request: 2% of a web process's CPU
under order load (py-spy at 250 orders/s), for the answer "JSON" every time. A request with no
``Accept``, or one of the three headers that can only mean JSON (``*/*``, ``application/*``,
``application/json``), and no ``?format=``, gets at once what DRF would answer; anything else
(parameters such as ``indent``, lists, other types, a view with other renderers) goes through
DRF's negotiation unchanged, refusals (406) included.
"""
from rest_framework.negotiation import DefaultContentNegotiation

_JSON = "application/json"
_ONLY_JSON = frozenset({"*/*", "application/*", _JSON})


class JsonNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (format_suffix is None and len(renderers) == 1 and renderers[0].media_type == _JSON
                and request.META.get("HTTP_ACCEPT", "*/*") in _ONLY_JSON
                and self.settings.URL_FORMAT_OVERRIDE not in request.query_params):
            return renderers[0], _JSON
        return super().select_renderer(request, renderers, format_suffix)
