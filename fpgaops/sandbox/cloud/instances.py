"""EC2 instances become hosts: moto's instance lifecycle calls an ``InstanceHostProvider``
(``host_provider.py``, re-exported here).

Hooked at moto's EC2 backend, so that every way of launching runs through it: ``run_instances``
(on-demand, or spot through ``InstanceMarketOptions``) and ``request_spot_instances`` (moto fulfils
spot requests at once with ``run_instances``). The provider is called during the API request:

- launch: after moto created the instance; the host's address becomes the instance's private and
  public IP (and so its DNS names). If the launch fails, the instance is terminated with the
  StateReason AWS gives an instance that failed to launch (``Server.InternalError``).
- stop / start / terminate: after moto changed the state. A stopped instance has no public IP, as
  on AWS; a started one gets the address its host has then.

Instances launched while no provider is installed stay plain moto instances.
"""

from __future__ import annotations

import logging
from typing import Any

from cryptography.hazmat.primitives import serialization
from moto.ec2.models import EC2Backend
from moto.ec2.models.instances import Instance, StateReason
from moto.ec2.responses._base_response import EC2BaseResponse

from fpgaops.platforms import platform_of_instance_type
from fpgaops.sandbox.cloud.amis import developer_ami_of_image, login_user_for_image
from fpgaops.sandbox.cloud.host_provider import InstanceHostProvider, InstanceHostSpec, LaunchedHost

log = logging.getLogger(__name__)

HOST_ATTRIBUTE = "sandbox_host"  # the attribute of moto's Instance holding its LaunchedHost
LAUNCH_FAILURE = StateReason("Server.InternalError: Internal error on launch", "Server.InternalError")
__all__ = ["InstanceHostProvider", "InstanceHostSpec", "LaunchedHost", "host_of", "install_instance_hosts",
           "openssh_public_key"]


_provider: InstanceHostProvider | None = None
_original = {name: getattr(EC2Backend, name)
             for name in ("run_instances", "stop_instances", "start_instances", "terminate_instances")}


def install_instance_hosts(provider: InstanceHostProvider | None) -> None:
    """Make moto's instance lifecycle drive ``provider`` (None: instances are plain moto ones)."""
    global _provider
    _provider = provider
    EC2Backend.run_instances = _run_instances
    EC2Backend.stop_instances = _stop_instances
    EC2Backend.start_instances = _start_instances
    EC2Backend.terminate_instances = _terminate_instances
    EC2BaseResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER[RUN_INSTANCES_STATE] = _launch_reply_state


RUN_INSTANCES_STATE = "RunInstances.Reservation.Instances.Instance.State"


def _launch_reply_state(state: Any) -> dict[str, Any]:
    """RunInstances answers ``pending`` for a new instance (moto's rule), but the real state for the
    instance of a retried ClientToken that has been stopped or terminated since, as AWS does."""
    name = state["Name"] if isinstance(state, dict) else state.name
    code = state["Code"] if isinstance(state, dict) else state.code
    return {"Code": 0, "Name": "pending"} if name in ("pending", "running") else {"Code": code, "Name": name}


def host_of(instance: Instance) -> LaunchedHost | None:
    """The host behind an instance, if it has one."""
    return getattr(instance, HOST_ATTRIBUTE, None)


def openssh_public_key(key_pair: Any) -> str | None:
    """The OpenSSH public key line of a moto key pair (imported or created), commented with its name."""
    try:
        key = serialization.load_ssh_public_key(bytes(key_pair.material_public))
    except (ValueError, TypeError):
        try:
            key = serialization.load_ssh_private_key(bytes(key_pair.material), password=None)
        except (ValueError, TypeError):
            key = serialization.load_pem_private_key(bytes(key_pair.material), password=None)
        key = key.public_key()
    line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return f"{line} {key_pair.key_name}"


MOTO_DEFAULT_CLIENT_TOKEN = "ABCDE"  # what moto's RunInstances parser passes when the request has none


def _run_instances(self: EC2Backend, *args: Any, **kwargs: Any) -> Any:
    token = kwargs.get("client_token")
    if token and token != MOTO_DEFAULT_CLIENT_TOKEN:  # AWS: a retried request returns the first launch
        for earlier in self.reservations.values():
            if any(getattr(i, "client_token", None) == token for i in earlier.instances):
                return earlier
    reservation = _original["run_instances"](self, *args, **kwargs)
    if _provider is not None:
        for instance in reservation.instances:
            _launch_host(self, instance)
    return reservation


def _stop_instances(self: EC2Backend, instance_ids: list[str]) -> Any:
    stopped = _original["stop_instances"](self, instance_ids)
    for instance, previous in stopped:
        if _provider is not None and host_of(instance) and previous.name in ("pending", "running"):
            _call_provider(_provider.stop, instance.id)
            instance.nics[0].public_ip = None
    return stopped


def _start_instances(self: EC2Backend, instance_ids: list[str]) -> Any:
    started = _original["start_instances"](self, instance_ids)
    for instance, previous in started:
        if _provider is not None and host_of(instance) and previous.name == "stopped":
            try:
                _attach_host(instance, _provider.start(instance.id))
            except Exception:
                log.exception("the host of %s did not start", instance.id)
                instance.stop()
                instance.state_reason = LAUNCH_FAILURE
    return started


def _terminate_instances(self: EC2Backend, instance_ids: list[str]) -> Any:
    terminated = _original["terminate_instances"](self, instance_ids)
    for instance, previous in terminated:
        if _provider is not None and host_of(instance) and previous.name != "terminated":
            _call_provider(_provider.terminate, instance.id)
    return terminated


def _launch_host(backend: EC2Backend, instance: Instance) -> None:
    try:
        host = _provider.launch(instance.id, _host_spec(backend, instance))
    except Exception:
        log.exception("the host of %s did not launch: the instance is terminated", instance.id)
        instance.terminate()
        instance.state_reason = LAUNCH_FAILURE
        instance._reason = LAUNCH_FAILURE.message
        return
    _attach_host(instance, host)


def _host_spec(backend: EC2Backend, instance: Instance) -> InstanceHostSpec:
    platform = platform_of_instance_type(instance.instance_type)
    key_pair = backend.key_pairs.get(instance.key_name) if instance.key_name else None
    key = openssh_public_key(key_pair) if key_pair is not None else None
    return InstanceHostSpec(
        instance_type=instance.instance_type,
        platform=platform.name if platform else None,
        fpga_slots=platform.slots_for(instance.instance_type) if platform else 0,
        login_user=login_user_for_image(backend, instance.image_id),
        authorized_keys=(key,) if key else (),
        region=backend.region_name,
        name=backend.tags.get(instance.id, {}).get("Name") or instance.id,
        ami=developer.version if (developer := developer_ami_of_image(backend, instance.image_id)) else None,
    )


def _attach_host(instance: Instance, host: LaunchedHost) -> None:
    """The host's address becomes the instance's private and public IP."""
    setattr(instance, HOST_ATTRIBUTE, host)
    nic = instance.nics[0]
    nic.private_ip_address = host.address
    nic.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": host.address}]
    nic.public_ip = host.address


def _call_provider(method: Any, instance_id: str) -> None:
    try:
        method(instance_id)
    except Exception:
        log.exception("%s of the host of %s failed", method.__name__, instance_id)
