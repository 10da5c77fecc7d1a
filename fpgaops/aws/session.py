"""boto3 sessions and clients: the user's usual credentials (profile, environment, SSO), or the sandbox.

Against real AWS, credentials come from boto3's usual chain (``AWS_PROFILE``, environment, ~/.aws,
SSO, instance role); against the sandbox, only ``endpoint_url`` changes (and static dummy keys,
since the local endpoint checks none). Throttled calls are retried by botocore itself
(``retries={"mode": "standard"|"adaptive"}``), never here.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from fpgaops.aws.errors import AwsError, translate_errors

SANDBOX_KEY = "sandbox"  # the local endpoint accepts any key
REGION_NAME = re.compile(r"[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+")


@dataclass(frozen=True)
class AwsSettings:
    """Where and as whom to call AWS.

    ``region`` and ``profile`` default to boto3's own resolution (AWS_DEFAULT_REGION, AWS_PROFILE,
    ~/.aws/config); ``endpoint_url`` points every client at one endpoint (the sandbox's).
    """

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None  # only for endpoints that need no real credentials (the sandbox)
    secret_access_key: str | None = None
    retry_mode: str = "standard"  # botocore's "standard" or "adaptive" (client-side rate limiting)
    max_attempts: int = 10  # in all, the first call included
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0

    @classmethod
    def sandbox(cls, endpoint_url: str, region: str = "us-east-1") -> AwsSettings:
        """Settings for the sandbox's local endpoint.

        Example: ``AwsSettings.sandbox("http://127.0.0.1:4566")``
        """
        # RunInstances there starts a real host: on a loaded machine give it time rather than retry it
        return cls(region=region, endpoint_url=endpoint_url, access_key_id=SANDBOX_KEY,
                   secret_access_key=SANDBOX_KEY, read_timeout_s=300.0)


DEFAULT_PROJECT = "fpgaops"
API_CALLS: Counter[str] = Counter()  # every AWS API call of this process, by "service.Operation"
_shared: dict[AwsSettings, AwsClients] = {}
_shared_lock = threading.Lock()


def project_of(variables: Mapping[str, Any]) -> str:
    """The ``Project`` tag value of this inventory: its ``project`` variable, else ``fpgaops``.

    Example: ``project_of(inventory.groups["all"].vars)`` -> ``"beats"``
    """
    return str(variables.get("project") or DEFAULT_PROJECT)


def settings_from_vars(host_vars: Mapping[str, Any]) -> AwsSettings:
    """AWS settings from inventory variables: ``aws_endpoint_url`` (the sandbox's inventory sets it),
    else ``aws_region`` / ``aws_profile`` (None: boto3's own resolution).

    Example: ``settings_from_vars(inventory.groups["all"].vars)``
    """
    if host_vars.get("aws_endpoint_url"):
        return AwsSettings.sandbox(str(host_vars["aws_endpoint_url"]), str(host_vars.get("aws_region", "us-east-1")))
    return AwsSettings(region=host_vars.get("aws_region"), profile=host_vars.get("aws_profile"))


class AwsClients:
    """A boto3 session and its clients (one per service, made on first use, retries configured).

    Example::

        aws = AwsClients(AwsSettings(profile="fpga", region="us-east-1"))
        aws.check_credentials()            # AwsError: no credentials, expired SSO, unknown region...
        ec2, s3 = aws.client("ec2"), aws.client("s3")
    """

    def __init__(self, settings: AwsSettings | None = None, session: boto3.Session | None = None):
        self.settings = settings or AwsSettings()
        self.session = session or _new_session(self.settings)
        self.region = _checked_region(self.session.region_name, self.session)
        self._clients: dict[str, Any] = {}

    @classmethod
    def shared(cls, settings: AwsSettings) -> AwsClients:
        """The process's clients for ``settings``, made once: a ``fab`` invocation's tasks and steps share one
        session (botocore reads its service models once).

        Example: ``AwsClients.shared(settings_from_vars(inventory_vars)).client("ec2")``
        """
        with _shared_lock:
            if settings not in _shared:
                _shared[settings] = cls(settings)
            return _shared[settings]

    def client(self, service: str) -> Any:
        """The client of ``service`` (``"ec2"``, ``"s3"``, ``"cloudwatch"``, ``"sts"``), made once."""
        if service not in self._clients:
            s = self.settings
            config = Config(retries={"mode": s.retry_mode, "total_max_attempts": s.max_attempts},
                            connect_timeout=s.connect_timeout_s, read_timeout=s.read_timeout_s)
            self._clients[service] = self.session.client(service, region_name=self.region,
                                                         endpoint_url=s.endpoint_url, config=config)
        return self._clients[service]

    @cached_property
    def account_id(self) -> str:
        """The account of the credentials in use (one STS call, which needs no permission)."""
        return self.check_credentials()["Account"]

    @translate_errors
    def check_credentials(self) -> dict[str, str]:
        """Who the credentials are (``{"Account", "Arn", "UserId"}``), or ``AwsError`` saying how to fix them."""
        identity = self.client("sts").get_caller_identity()
        return {key: identity[key] for key in ("Account", "Arn", "UserId")}


@translate_errors
def _new_session(settings: AwsSettings) -> boto3.Session:
    session = boto3.Session(profile_name=settings.profile, region_name=settings.region,
                            aws_access_key_id=settings.access_key_id, aws_secret_access_key=settings.secret_access_key)
    session.events.register("before-call", _count_call)
    return session


def _count_call(model: Any, **_: Any) -> None:
    API_CALLS[f"{model.service_model.service_name}.{model.name}"] += 1


def _checked_region(region: str | None, session: boto3.Session) -> str:
    if not region:
        raise AwsError("no AWS region set", code="NoRegion",
                       fix="set the region in the config, in AWS_DEFAULT_REGION, or in the profile")
    if REGION_NAME.fullmatch(region):
        return region  # without loading botocore's endpoint data (a tenth of a second)
    known = {name for partition in session.get_available_partitions()
             for name in session.get_available_regions("ec2", partition_name=partition)}
    if region not in known:
        close = sorted(name for name in known if name.split("-")[0] == region.split("-")[0])[:6]
        raise AwsError(f"unknown AWS region {region!r}", code="UnknownRegion",
                       fix=f"use a region name such as {', '.join(close or ['us-east-1', 'eu-west-2'])}")
    return region
