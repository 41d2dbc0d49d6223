"""``GET /api/v1/time``: the server's clock, for signing.

A signed request must carry a timestamp within the receive window (5 s) of this clock; a client
whose clock drifts reads it here and signs with the offset. Public, and answered without
touching the database, so it stays cheap to poll.
"""
from datetime import UTC, datetime, timedelta

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

ServerTime = inline_serializer(name="ServerTime", fields={
    "server_time": serializers.IntegerField(help_text="milliseconds since the epoch"),
    "iso": serializers.CharField(help_text="the same instant in ISO 8601, UTC"),
})


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


def server_time(now: datetime | None = None) -> dict:
    """The clock as the API shows it: integer milliseconds and the same instant in ISO 8601
    (UTC, to the millisecond), in integer arithmetic so the two always agree."""
    ms = ((now or datetime.now(UTC)) - EPOCH) // MILLISECOND
    instant = EPOCH + ms * MILLISECOND
    return {"server_time": ms, "iso": instant.isoformat(timespec="milliseconds").replace("+00:00", "Z")}


class ServerTimeApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ServerTime}, operation_id="server_time")
    def get(self, request):
        return Response(server_time())
