"""``JsonNegotiation`` answers exactly as DRF's own negotiation, for any ``Accept``."""
import pytest
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from exchange.api.negotiation import JsonNegotiation

ACCEPTS = [None, "*/*", "application/*", "application/json", "", " */*", "application/json; indent=4",
           "text/html", "application/json, text/plain, */*", "text/*", "application/xml", "*/*;q=0.1",
           "APPLICATION/JSON", "application/json;q=0"]


def _answer(negotiation, accept, query, renderers):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get("/api/v1/markets" + query, **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers)
    except NotAcceptable:
        return "406"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=api", "?x=1"])
@pytest.mark.parametrize("renderers", [[JSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()]])
def test_every_accept_gets_drfs_own_answer(accept, query, renderers):
    try:
        expected = _answer(DefaultContentNegotiation(), accept, query, renderers)
    except Exception as exc:  # whatever DRF raises (Http404 for an unknown format), ours must raise too
        with pytest.raises(type(exc)):
            _answer(JsonNegotiation(), accept, query, renderers)
        return
    assert _answer(JsonNegotiation(), accept, query, renderers) == expected


def test_the_plain_case_skips_drfs_parse(monkeypatch):
    """Not a different answer but no work: the header is not parsed for the plain case."""
    def parse(*args):
        raise AssertionError("parsed")

    monkeypatch.setattr(DefaultContentNegotiation, "get_accept_list", parse)
    assert _answer(JsonNegotiation(), "*/*", "", [JSONRenderer()]) == ("JSONRenderer", "application/json")
