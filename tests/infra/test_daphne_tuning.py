"""Daphne's requests skip Twisted's form parsing (Daphne never reads it; it cost about a tenth
of a web process's CPU per order POST, and parsed whole multipart bodies on the event loop)."""
from unittest import mock

from daphne.http_protocol import WebRequest

from exchange.infra import daphne_tuning


def test_requests_created_by_daphne_do_not_parse_post_bodies():
    daphne_tuning.install()
    daphne_tuning.install()  # idempotent: installing twice does not wrap twice
    request = WebRequest(mock.MagicMock())
    assert request._parsePOSTFormSubmission is False


def test_the_web_application_installs_it():
    import exchange.asgi  # noqa: F401  (what Daphne imports)

    assert WebRequest.__init__ is daphne_tuning._init_without_form_parsing
