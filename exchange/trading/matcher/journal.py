"""The hash chain of the event journal, and the DESIGN 6.5 export format."""
import hashlib

import orjson

GENESIS = "0" * 64


def canonical_bytes(event_type: str, sequence: int, payload: dict) -> bytes:
    """The bytes an event's hash covers: sorted keys, no spaces, so any process agrees."""
    return orjson.dumps({"seq": sequence, "type": event_type, **payload}, option=orjson.OPT_SORT_KEYS)


def chain_hash(prev_hash: str, event_type: str, sequence: int, payload: dict) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_bytes(event_type, sequence, payload)).hexdigest()
