"""The deployment's steps as flows: ``fab provision``, ``fab deploy`` and each step alone.

``provision``: the AWS side (key pair, security group, instances found by tags or launched, host
keys pinned), then the dev host and the FPGA hosts prepared (``dev_host``, ``f1_host`` without an
AFI).  ``deploy``: ``synth`` (build on the dev host, fetched) -> ``afi`` (preflight, upload,
create, wait) -> ``load-afi`` (every FPGA host) -> ``service`` -> ``auto-shutdown``.  Each step
finds what the previous one made (``build/deploy/``, AWS tags), so any can be rerun alone.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

from rich.console import Console

from fpgaops.aws.progress import Progress, format_elapsed
from roles.flow import Flow, FlowStopped, artifacts_dir
from roles.synth.tasks import BuildResult, synthesize

CURRENT_BUILD = "current-build.json"


def _aws(flow: Flow) -> Any:
    from fpgaops.aws.session import AwsClients, settings_from_vars

    return AwsClients(settings_from_vars(flow.inventory.groups["all"].vars | flow.options.extra_vars))


def _show_progress(console: Console):
    def show(event: Progress) -> None:
        elapsed = f" [{format_elapsed(event.elapsed_s)}]" if event.elapsed_s else ""
        console.print(f"  [dim]{event.stage}{elapsed}[/] {event.message}", highlight=False)
    return show


def _settings(flow: Flow) -> dict[str, Any]:
    return {**flow.inventory.groups["all"].vars, **flow.options.extra_vars}


def provision_aws(flow: Flow) -> None:
    """The AWS side of ``fab provision``: everything made or found again by tags; the inventory then sees the hosts."""
    from fpgaops.aws.errors import AwsError
    from fpgaops.aws.instances import plan_fleet
    from fpgaops.aws.network_access import checkip_address
    from fpgaops.aws.provision import provision
    from fpgaops.aws.provision_settings import provision_config

    settings = _settings(flow)
    try:
        config = provision_config(settings)
        aws = _aws(flow)
        if flow.check:
            from fpgaops.aws.instances import FleetConfig

            fleet = FleetConfig(config.project, config.groups, config.key_pair.name, (), config.platform, config.launch)
            for slot in plan_fleet(aws.client("ec2"), fleet).slots:
                flow.say(f"provision (check): {slot.name}: {slot.action}", style="")
            return
        flow.say(f"provision: project {config.project} in {aws.region}")
        report = provision(aws, config, caller_address=checkip_address, progress=_show_progress(flow.console))
    except (AwsError, ValueError) as err:
        raise FlowStopped(f"provision: {err}", 1) from None
    for line in report.summary():
        flow.say(f"  {line}", style="green" if not report.changed else "")
    flow.reload_inventory()


def current_build() -> BuildResult:
    """The build ``fab synth`` fetched last (``FlowStopped`` when there is none yet)."""
    try:
        key = json.loads((artifacts_dir() / CURRENT_BUILD).read_text())["key"]
    except (OSError, ValueError, KeyError):
        key = None
    build = BuildResult.load(artifacts_dir("builds", key)) if key else None
    if build is None:
        raise FlowStopped("no build yet: run `fab synth` (or `fab deploy`) first", 1)
    return build


def synth(flow: Flow) -> BuildResult | None:
    """``fab synth``: the build of the current code, remembered as the current build."""
    build = synthesize(flow)
    if build is not None:
        (artifacts_dir() / CURRENT_BUILD).write_text(json.dumps({"key": build.key}) + "\n")
    return build


def unpacked_package(build: BuildResult) -> Path:
    """The build's model package, unpacked once under ``build/deploy/packages/``."""
    target = artifacts_dir("packages")
    with tarfile.open(build.package_tarball) as archive:
        top = archive.getnames()[0].split("/")[0]
        folder = target / top
        if not (folder / "manifest.json").is_file():
            archive.extractall(target, filter="data")
    return folder


def model_hash(build: BuildResult) -> str:
    """The content hash of the build's model (its manifest's ``content_sha256``)."""
    return json.loads((unpacked_package(build) / "manifest.json").read_text())["content_sha256"]


def afi(flow: Flow, build: BuildResult) -> str | None:
    """``fab afi``: the available AFI of the build's model (reused, waited for, or created); its agfi id."""
    from fpgaops.aws.afi import AfiConfig, current_afi, default_bucket_name, ensure_afi
    from fpgaops.aws.errors import AwsError
    from fpgaops.platforms import PLATFORMS

    settings = _settings(flow)
    project = str(settings.get("project") or "fpgaops")
    platform = PLATFORMS[str(settings.get("platform") or "f2")]
    digest = model_hash(build)
    try:
        aws = _aws(flow)
        ec2, s3 = aws.client("ec2"), aws.client("s3")
        if flow.check:
            found = current_afi(ec2, project, digest, platform)
            flow.say(f"afi (check): {found.afi_id + ' ' + found.state if found else 'would create an AFI'} "
                     f"for model {digest[:12]}", style="")
            return found.agfi_id if found else None
        bucket = settings.get("afi_bucket") or default_bucket_name(project, aws.account_id(), aws.region)
        config = AfiConfig(project, bucket, platform, poll_interval_s=float(settings.get("afi_poll_s", 30)))
        result = ensure_afi(ec2, s3, build.dcp_tarball, digest, config, _show_progress(flow.console),
                            package_tarball=build.package_tarball)
    except AwsError as err:
        raise FlowStopped(f"afi: {err}", 2) from None
    flow.say(f"afi: {result.summary()}", style="green")
    return result.afi.agfi_id


def current_agfi(flow: Flow, build: BuildResult) -> str:
    """The agfi of the available AFI of the build's model, found by tags (``FlowStopped`` when none is)."""
    from fpgaops.aws.afi import current_afi
    from fpgaops.platforms import PLATFORMS

    settings = _settings(flow)
    found = current_afi(_aws(flow).client("ec2"), str(settings.get("project") or "fpgaops"), model_hash(build),
                        PLATFORMS[str(settings.get("platform") or "f2")])
    if found is None or found.state != "available" or not found.agfi_id:
        raise FlowStopped(f"no available AFI for model {model_hash(build)[:12]}: run `fab afi` first", 1)
    return found.agfi_id
