"""Deterministic ClientTokens: the same request always carries the same token, so AWS never does it twice.

A create call that is retried (by botocore, or by rerunning the task after a crash) with the same
parameters gets the same token, and AWS answers with what the first call made instead of making
another. Tokens are at most 64 ASCII characters (EC2's limit).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

PREFIX = "fpgaops-"


def client_token(request: Mapping[str, Any], attempt: int = 0) -> str:
    """The token of ``request`` (its parameters without ClientToken), for the ``attempt``-th try.

    A new ``attempt`` is for when the earlier token's result is gone (an instance terminated, an AFI
    deleted) and the same request must make something new.

    Example: ``client_token({"InstanceType": "f2.6xlarge", "Name": "f1-a"})`` -> ``"fpgaops-3f0c...-0"``
    """
    text = json.dumps({key: value for key, value in request.items() if key != "ClientToken"},
                      sort_keys=True, default=str)
    return f"{PREFIX}{hashlib.sha256(text.encode()).hexdigest()[:48]}-{attempt}"
