"""Routes of the sandbox itself, served by the same HTTP server as moto, in front of moto's WSGI app.

``GET /_sandbox/fpga-images/<agfi-id>?region=<region>`` answers what the FPGA tool stand-ins on the
hosts need to load an AFI (as the real tools ask AWS's AFI service)::

    200 {"FpgaImageId": "afi-...", "FpgaImageGlobalId": "agfi-...", "State": {"Code": "available"},
         "ShellVersion": "0x10212415", "PciId": {"DeviceId": "0xf000", "VendorId": "0x1d0f", ...}}
    404 {"Error": "..."}  when no AFI of that region has this global id
    400 {"Error": "..."}  without a region, or for a malformed global id

Any account's AFIs count, an available one first; a pending AFI whose time is over settles first.
Every other path goes to moto.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from moto.ec2.models import ec2_backends
from werkzeug.wrappers import Request, Response

from fpgaops.sandbox.cloud.fpga_image_store import FPGA_IMAGES_LOCK, FpgaImage, registry_of, settle_due_images

PREFIX = "/_sandbox/"
FPGA_IMAGE_PATH = re.compile(r"/_sandbox/fpga-images/(?P<agfi>[^/]+)")
AGFI_ID = re.compile(r"agfi-[0-9a-f]{17}")
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SandboxRoutes:
    """A WSGI app answering ``/_sandbox/...`` itself and passing every other request to ``moto_app``."""

    def __init__(self, moto_app: WsgiApp):
        self.moto_app = moto_app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not environ.get("PATH_INFO", "").startswith(PREFIX):
            return self.moto_app(environ, start_response)
        return self._answer(Request(environ))(environ, start_response)

    def _answer(self, request: Request) -> Response:
        match = FPGA_IMAGE_PATH.fullmatch(request.path)
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
