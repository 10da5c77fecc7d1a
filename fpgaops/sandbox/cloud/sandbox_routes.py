"""Routes of the sandbox itself, served by the same HTTP server as moto, in front of moto's WSGI app.

``GET /_sandbox/fpga-images/<agfi-id>?region=<region>`` answers what the FPGA tool stand-ins on the
hosts need to load an AFI (as the real tools ask AWS's AFI service)::

    200 {"FpgaImageId": "afi-...", "FpgaImageGlobalId": "agfi-...", "State": {"Code": "available"},
         "ShellVersion": "0x10212415", "PciId": {"DeviceId": "0xf000", "VendorId": "0x1d0f", ...}}
    404 {"Error": "..."}  when no AFI of that region has this global id
    400 {"Error": "..."}  without a region, or for a malformed global id

Any account's AFIs count, an available one first; a pending AFI whose time is over settles first.

With FPGA cards (``fpgaops.sandbox.card``, when the endpoint runs for a sandbox state directory), the
tool stand-ins also call::

    POST   /_sandbox/fpga-designs/<agfi-id>?region=<region>   prepare the AFI's design (when a load starts)
           200 {"state": "preparing" | "ready" | "no-design" | "failed", "message": "..."}
    PUT    /_sandbox/fpga-cards/<host>/<slot>  {"agfi", "region", "dbdf"}   serve the slot's resource0
           200 {"state", "message"}; 400 {"Error"} for a bad host, slot, address or device file
    DELETE /_sandbox/fpga-cards/<host>/<slot>  stop serving it (a clear or another load begins)

Every other path goes to moto.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from moto.ec2.models import ec2_backends
from moto.s3.models import s3_backends
from werkzeug.wrappers import Request, Response

from fpgaops.aws.afi import PACKAGE_TAG
from fpgaops.sandbox.card.cards import CardError, FpgaCards
from fpgaops.sandbox.cloud.fpga_image_store import FPGA_IMAGES_LOCK, FpgaImage, registry_of, settle_due_images

PREFIX = "/_sandbox/"
FPGA_IMAGE_PATH = re.compile(r"/_sandbox/fpga-images/(?P<agfi>[^/]+)")
FPGA_DESIGN_PATH = re.compile(r"/_sandbox/fpga-designs/(?P<agfi>[^/]+)")
FPGA_CARD_PATH = re.compile(r"/_sandbox/fpga-cards/(?P<host>[^/]+)/(?P<slot>[0-9]{1,2})")
AGFI_ID = re.compile(r"agfi-[0-9a-f]{17}")
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SandboxRoutes:
    """A WSGI app answering ``/_sandbox/...`` itself and passing every other request to ``moto_app``."""

    def __init__(self, moto_app: WsgiApp, cards: FpgaCards | None = None):
        self.moto_app = moto_app
        self.cards = cards

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.moto_app(environ, start_response)
        return self._answer(Request(environ))(environ, start_response)

    def _answer(self, request: Request) -> Response:
        match = FPGA_IMAGE_PATH.fullmatch(request.path)
        if self.cards is not None and match is None:
            answer = self._card_answer(request)
            if answer is not None:
                return answer
        if request.method != "GET" or match is None:
            return _json(404, {"Error": f"no sandbox route {request.method} {request.path}"})
        agfi_id, region = match["agfi"], request.args.get("region")
        if not AGFI_ID.fullmatch(agfi_id):
            return _json(400, {"Error": f"malformed global AFI id {agfi_id!r}"})
        if not region:
            return _json(400, {"Error": "the query parameter region is required"})
        image = fpga_image_by_global_id(agfi_id, region)
        if image is None:
            return _json(404, {"Error": f"no AFI with global id {agfi_id} in {region}"})
        state = {"Code": image.state_code, **({"Message": image.state_message} if image.state_message else {})}
        return _json(200, {"FpgaImageId": image.fpga_image_id, "FpgaImageGlobalId": image.fpga_image_global_id,
                           "State": state, "ShellVersion": image.shell_version, "PciId": image.pci_id})


    def _card_answer(self, request: Request) -> Response | None:
        """The FPGA card routes (see the module docstring); None for another path."""
        design, card = FPGA_DESIGN_PATH.fullmatch(request.path), FPGA_CARD_PATH.fullmatch(request.path)
        try:
            if design is not None and request.method == "POST":
                region = request.args.get("region")
                if not AGFI_ID.fullmatch(design["agfi"]) or not region:
                    return _json(400, {"Error": "a well-formed agfi id and the query parameter region are required"})
                return _json(200, self.cards.designs.prepare(design["agfi"], region).to_json())
            if card is not None and request.method == "PUT":
                body = request.get_json(force=True, silent=True) or {}
                state = self.cards.attach(card["host"], int(card["slot"]), str(body.get("dbdf")),
                                          str(body.get("agfi")), str(body.get("region") or ""))
                return _json(200, state.to_json())
            if card is not None and request.method == "DELETE":
                return _json(200, {"detached": self.cards.detach(card["host"], int(card["slot"]))})
        except (CardError, OSError) as error:
            return _json(400, {"Error": str(error)})
        return None


def package_from_moto(agfi_id: str, region: str) -> bytes | None:
    """The model package tarball an AFI is tagged with (``fpgaops:package`` = ``s3://bucket/key``), from
    moto's S3 of the AFI's account; None for an AFI without the tag, LookupError when it cannot be read."""
    image = fpga_image_by_global_id(agfi_id, region)
    if image is None:
        raise LookupError(f"no AFI with global id {agfi_id} in {region}")
    uri = image.tags.get(PACKAGE_TAG)
    if not uri:
        return None
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket or not key:
        raise LookupError(f"{agfi_id}: tag {PACKAGE_TAG} is {uri!r}, not s3://bucket/key")
    try:
        found = s3_backends[image.owner_id]["global"].get_object(bucket, key)
    except Exception as error:  # moto raises its own S3 errors (NoSuchBucket, NoSuchKey)
        raise LookupError(f"{agfi_id}: cannot read {uri}: {error}") from None
    if found is None:
        raise LookupError(f"{agfi_id}: {uri} does not exist")
    return found.value


def fpga_image_by_global_id(agfi_id: str, region: str) -> FpgaImage | None:
    """An AFI of ``region`` (any account) with this global id, an available one if there is one."""
    with FPGA_IMAGES_LOCK:
        found = []
        for _account, backend_region, backend in list(ec2_backends.iter_backends()):
            if backend_region == region:
                registry = registry_of(backend)
                settle_due_images(registry)
                found.extend(registry.by_global_id(agfi_id))
        found.sort(key=lambda image: image.state_code != "available")
        return found[0] if found else None


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")
