"""The deployment's steps as flows: ``fab provision``, ``fab deploy`` and each step alone.

``provision``: the AWS side (key pair, security group, instances found by tags or launched, host
keys pinned), then the dev host and the FPGA hosts prepared (``dev_host``, ``f1_host`` without an
AFI).  ``deploy``: ``synth`` (build on the dev host, fetched) -> ``afi`` (preflight, upload,
create, wait) -> ``load-afi`` (every FPGA host) -> ``service`` -> ``auto-shutdown``.  Each step
finds what the previous one made (``build/deploy/``, AWS tags), so any can be rerun alone.
"""

from __future__ import annotations

import array
import io
import json
import math
import wave
from typing import Any

from rich.console import Console

from fpgaops.aws.progress import Progress, format_elapsed
from roles.flow import Flow, FlowStopped, artifacts_dir
from roles.synth.tasks import BuildResult, synthesize

CURRENT_BUILD = "current-build.json"


def _aws(flow: Flow) -> Any:
    from fpgaops.aws.session import AwsClients, settings_from_vars

    return AwsClients.shared(settings_from_vars(flow.settings))


def _afi_target(flow: Flow) -> tuple[str, Any]:
    """The project and FPGA platform AFIs are made for and found by (``project``, ``platform`` variables)."""
    from fpgaops.aws.session import project_of
    from fpgaops.platforms import DEFAULT_PLATFORM, platform_named

    return project_of(flow.settings), platform_named(str(flow.settings.get("platform") or DEFAULT_PLATFORM.name))


def _show_progress(console: Console):
    def show(event: Progress) -> None:
        elapsed = f" [{format_elapsed(event.elapsed_s)}]" if event.elapsed_s else ""
        console.print(f"  [dim]{event.stage}{elapsed}[/] {event.message}", highlight=False)
    return show


def provision_aws(flow: Flow) -> None:
    """The AWS side of ``fab provision``: everything made or found again by tags; the inventory then sees the hosts."""
    from fpgaops.aws.errors import AwsError
    from fpgaops.aws.instances import plan_fleet
    from fpgaops.aws.network_access import checkip_address
    from fpgaops.aws.provision import fleet_config, provision
    from fpgaops.aws.provision_settings import provision_config

    try:
        config = provision_config(flow.settings)
        aws = _aws(flow)
        if flow.check:
            for slot in plan_fleet(aws.client("ec2"), fleet_config(config)).slots:
                flow.say(f"provision (check): {slot.name}: {slot.action}", style="")
            return
        flow.say(f"provision: project {config.project} in {aws.region}")
        report = provision(aws, config, caller_address=checkip_address, progress=_show_progress(flow.console))
    except (AwsError, ValueError) as err:
        raise FlowStopped(f"provision: {err}", 1) from None
    for line in report.summary():
        flow.say(f"  {line}", style="green" if not report.changed else "")
    if report.changed:  # else the instances are those the inventory was read with
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


def afi(flow: Flow, build: BuildResult | None = None) -> str | None:
    """``fab afi``: the available AFI of the (current) build's model (reused, waited for, or created); its agfi id."""
    from fpgaops.aws.afi import AfiConfig, current_afi, default_bucket_name, ensure_afi
    from fpgaops.aws.errors import AwsError

    build = build or current_build()
    project, platform = _afi_target(flow)
    try:
        aws = _aws(flow)
        ec2, s3 = aws.client("ec2"), aws.client("s3")
        if flow.check:
            found = current_afi(ec2, project, build.model_sha256, platform)
            flow.say(f"afi (check): {found.afi_id + ' ' + found.state if found else 'would create an AFI'} "
                     f"for model {build.model_sha256[:12]}", style="")
            return found.agfi_id if found else None
        bucket = flow.settings.get("afi_bucket") or default_bucket_name(project, aws.account_id, aws.region)
        config = AfiConfig(project, bucket, platform, poll_interval_s=float(flow.settings.get("afi_poll_s", 30)))
        result = ensure_afi(ec2, s3, build.dcp_tarball, build.model_sha256, config, _show_progress(flow.console),
                            package_tarball=build.package_tarball)
    except AwsError as err:
        raise FlowStopped(f"afi: {err}", 2) from None
    flow.say(f"afi: {result.summary()}", style="green")
    return result.afi.agfi_id


def current_agfi(flow: Flow, build: BuildResult) -> str:
    """The agfi of the available AFI of the build's model, found by tags (``FlowStopped`` when none is)."""
    from fpgaops.aws.afi import current_afi

    project, platform = _afi_target(flow)
    found = current_afi(_aws(flow).client("ec2"), project, build.model_sha256, platform)
    if found is None or found.state != "available" or not found.agfi_id:
        raise FlowStopped(f"no available AFI for model {build.model_sha256[:12]}: run `fab afi` first", 1)
    return found.agfi_id


def _error_generator_url(flow: Flow) -> dict[str, str]:
    """``error_generator_url`` from the first errgen host, unless the inventory sets one."""
    if any(host.vars.get("error_generator_url") for host in flow.hosts("f1")):
        return {}
    errgen = flow.inventory.group_hosts("errgen") if "errgen" in flow.inventory.groups else []
    if not errgen:
        return {}
    port = errgen[0].vars.get("error_generator_port", 9090)
    return {"error_generator_url": f"http://{errgen[0].address}:{port}"}


def release_vars(flow: Flow, build: BuildResult) -> dict[str, Any]:
    """The extra variables of the service role: the release to deploy (built here), the errgen URL."""
    from roles.rhythm_service.release import build_release

    release = build_release(build.package)
    extra: dict[str, Any] = {"rhythm_release_id": release.release_id, "rhythm_release_tarball": str(release.tarball),
                             **_error_generator_url(flow)}
    return extra


def service(flow: Flow, build: BuildResult | None = None, agfi: str | None = None) -> None:
    """``fab service``: the current build's release on every FPGA host, started and healthy."""
    from roles.rhythm_service import tasks as rhythm_service

    build = build or current_build()
    if agfi is None:
        agfi = _agfi_or_empty(flow, build)  # no AFI yet: the service runs on the emulation or the CPU, says /health
    flow.run([rhythm_service.role(), rhythm_service.health_role()], afi_agfi=agfi, **release_vars(flow, build))


def _agfi_or_empty(flow: Flow, build: BuildResult) -> str:
    try:
        return current_agfi(flow, build)
    except FlowStopped:
        return ""


def render_env(flow: Flow) -> None:
    """``fab render-env``: only the ``.env`` and the unit from their templates; a change restarts the service."""
    from roles.rhythm_service import tasks as rhythm_service

    build = current_build()
    flow.run([rhythm_service.env_role()], afi_agfi=_agfi_or_empty(flow, build), **_error_generator_url(flow))


def restart(flow: Flow) -> None:
    """``fab restart``: restart the service on the FPGA hosts, then check its health."""
    from roles.rhythm_service import tasks as rhythm_service

    flow.run([rhythm_service.restart_role(), rhythm_service.health_role()])


def rollback(flow: Flow) -> None:
    """``fab rollback``: the previous release serves again (a second rollback rolls forward)."""
    from roles.rhythm_service import tasks as rhythm_service

    flow.run([rhythm_service.rollback_role(), rhythm_service.health_role()])


def health(flow: Flow) -> None:
    """``fab health``: GET /health on every FPGA host: one table of status, backend (and why), the card's model."""
    from rich.table import Table

    from roles.rhythm_service import tasks as rhythm_service

    flow.run([rhythm_service.health_role()])
    table = Table("host", "status", "backend", "detection ready", "card", "how the backend was chosen",
                  title="rhythm service health")
    for host in flow.hosts("f1"):
        port = rhythm_service.service_vars(host)["service_port"]
        reply = flow.connection(host).run(f"curl -sS --max-time 5 http://127.0.0.1:{port}/health")
        try:
            body = json.loads(reply.stdout)
        except ValueError:
            table.add_row(host.name, "no answer", "", "", "", (reply.stderr or reply.stdout).strip()[:80])
            continue
        card = body.get("backend_health") or {}
        card_text = (f"{card.get('device')} slot {card.get('slot')}: model "
                     f"{'matches' if card.get('model_id_matches') else 'differs'}") if "device" in card else "-"
        table.add_row(host.name, str(body.get("status")), str(body.get("backend")), str(body.get("detection_ready")),
                      card_text, "; ".join(body.get("backend_reasons") or []) or "-")
    flow.console.print(table)


READ_AHEAD_AGFI = "agfi-" + "0" * 17  # the AFI id changes no fact of a role (only what its plan does)


def read_ahead_deployment(flow: Flow, build: BuildResult | None, prepare: bool = False) -> None:
    """Have the first reading of facts on each host also read the facts of the deployment's later roles there
    (``prepare``: the host preparation's too): a no-op costs one round trip per host."""
    from roles.auto_shutdown import tasks as auto_shutdown_role
    from roles.dev_host import tasks as dev_host
    from roles.f1_host import tasks as f1_host
    from roles.rhythm_service import tasks as rhythm_service

    if prepare:
        flow.read_ahead([dev_host.role()])
    flow.read_ahead([f1_host.role()], afi_agfi=READ_AHEAD_AGFI)
    if build is not None:
        try:
            release = release_vars(flow, build)
        except Exception:  # reading ahead only saves time: the service step reports the problem
            release = None
        if release is not None:
            flow.read_ahead([rhythm_service.role(), rhythm_service.health_role()], afi_agfi=READ_AHEAD_AGFI,
                            **release)
    flow.read_ahead([auto_shutdown_role.role()])


def prepare_hosts(flow: Flow) -> None:
    """The hosts' preparation of ``fab provision``: the dev host (toolchain, SDK/HDK, ML venv), the FPGA hosts (SDK)."""
    from roles.dev_host import tasks as dev_host
    from roles.f1_host import tasks as f1_host

    flow.run([dev_host.role(), f1_host.role()], afi_agfi="")


def provision(flow: Flow) -> None:
    """``fab provision``: the AWS side, then the dev and FPGA hosts prepared."""
    provision_aws(flow)
    if flow.check and not (flow.hosts("dev") or flow.hosts("f1")):
        return  # check mode on a project without instances yet: nothing to show on hosts
    try:
        build = current_build()
    except FlowStopped:
        build = None  # nothing built yet: the service's facts are read when it is deployed
    read_ahead_deployment(flow, build, prepare=True)
    prepare_hosts(flow)


def load_afi(flow: Flow, agfi: str | None = None) -> str:
    """``fab load-afi``: the AFI of the current build loaded on every FPGA host (the boot unit reloads it)."""
    from roles.f1_host import tasks as f1_host

    agfi = agfi or current_agfi(flow, current_build())
    flow.run([f1_host.role()], afi_agfi=agfi)
    return agfi


def auto_shutdown(flow: Flow, disable: bool = False) -> None:
    """``fab auto-shutdown [--disable]``: the idle check and nightly shutdown in root's crontab (or removed)."""
    from roles.auto_shutdown import tasks as auto_shutdown_role

    flow.run([auto_shutdown_role.disable_role() if disable else auto_shutdown_role.role()])


def deploy(flow: Flow) -> None:
    """``fab deploy``: synth -> afi -> load-afi -> service -> auto-shutdown, each skipped when already done."""
    build = synth(flow)
    if build is None:  # check mode before any build: what the host steps would do needs the build
        return
    read_ahead_deployment(flow, build)
    agfi = afi(flow, build)
    if agfi:
        load_afi(flow, agfi)
    service(flow, build, agfi or "")
    auto_shutdown(flow)
    if not flow.check:
        sample_detection(flow)


SAMPLE_BPM = 120
SAMPLE_WAIT_S = 180  # the longest the service may take to say detection_ready after a start


def click_track_wav(bpm: float = SAMPLE_BPM, seconds: float = 6.0, rate: int = 22050) -> bytes:
    """A mono 16-bit WAV of decaying 2 kHz clicks at ``bpm`` from 0.5 s (the sample detection's input).

    Example: ``len(click_track_wav())`` -> 264644 (6 s at 22,050 Hz, 44-byte header)
    """
    samples = array.array("h", bytes(2 * int(seconds * rate)))
    beat = 0.5
    while beat < seconds:
        start = int(beat * rate)
        for offset in range(min(int(0.15 * rate), len(samples) - start)):
            t = (start + offset) / rate
            samples[start + offset] += int(29000 * math.exp(-60 * offset / rate) * math.sin(2e3 * t))
        beat += 60 / bpm
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return out.getvalue()


def sample_detection(flow: Flow) -> None:
    """POST a 6 s click track at 120 BPM to /api/detect-beats on the first FPGA host once /health says
    detection_ready; print the answer (backend, tempo, beats, timings)."""
    from roles.rhythm_service import tasks as rhythm_service

    hosts = flow.hosts("f1")
    if not hosts:
        return
    url = f"http://127.0.0.1:{rhythm_service.service_vars(hosts[0])['service_port']}"
    script = (f"end=$(( $(date +%s) + {SAMPLE_WAIT_S} ))\n"
              f"until curl -sS --max-time 10 {url}/health | grep -Eq '\"detection_ready\": ?true'; do\n"
              f"  [ \"$(date +%s)\" -lt \"$end\" ] || {{ echo 'not ready after {SAMPLE_WAIT_S} s' >&2; exit 1; }}\n"
              "  sleep 0.2\ndone\n"
              f"curl -sS --max-time 60 -H 'Content-Type: audio/wav' --data-binary @- -w '\\n%{{http_code}}' "
              f"{url}/api/detect-beats\n")
    reply = flow.connection(hosts[0]).run(script, stdin=click_track_wav())
    body, _, status = reply.stdout.rpartition("\n")
    try:
        answer = json.loads(body) if reply.exit_code == 0 else None
    except ValueError:
        answer = None
    if status.strip() != "200" or not isinstance(answer, dict):
        why = (reply.stderr.strip().splitlines() or [f"HTTP {status.strip()}: {body.strip()[:200]}"])[-1]
        raise FlowStopped(f"{hosts[0].name}: the sample detection failed: {why} (see `fab logs`)", 2)
    shown = {key: answer[key] for key in ("backend", "tempo", "beats", "timings_ms") if key in answer}
    flow.say(f"sample detection on {hosts[0].name} (clicks at {SAMPLE_BPM} BPM): {json.dumps(shown)}")


def fpga_status(flow: Flow) -> None:
    """``fab fpga-status``: every slot of every FPGA host in one table (read only)."""
    from rich.table import Table

    from fpgaops.connection import SshError
    from fpgaops.fpga_slots import FpgaToolsError
    from roles.f1_host.status import STATUS_COLUMNS, fpga_status, status_rows

    table = Table(*STATUS_COLUMNS, title="FPGA slots")
    problems = []
    for host in flow.hosts("f1"):
        try:
            rows = status_rows(host.name, fpga_status(flow.connection(host)))
        except (FpgaToolsError, SshError) as err:
            problems.append(f"{host.name}: {err}")
            continue
        for row in rows:
            table.add_row(*(row[column] for column in STATUS_COLUMNS))
    flow.console.print(table)
    if problems:
        raise FlowStopped("; ".join(problems), 2)


def logs(flow: Flow, lines: int = 40) -> None:
    """``fab logs``: the service's log on every FPGA host, the AFI boot unit's, and the dev host's build job."""
    from roles.rhythm_service import tasks as rhythm_service

    for host in flow.hosts("f1"):
        unit = rhythm_service.unit_name(rhythm_service.service_vars(host))
        for name in (unit, "fpgaops-afi.service"):
            reply = flow.connection(host).run(f"journalctl -u {name} -n {lines} --no-pager", sudo=True)
            flow.say(f"== {host.name}: {name}")
            flow.console.print(reply.stdout.rstrip() or reply.stderr.rstrip(), highlight=False, markup=False)
    for host in flow.hosts("dev"):
        newest = ("d=$(ls -1td /var/lib/fpgaops/jobs/*/ 2>/dev/null | head -n 1); "
                  f'[ -n "$d" ] && echo "$d" && tail -n {lines} "$d/log" || echo "no build job yet"')
        reply = flow.connection(host).run(newest, sudo=True)
        flow.say(f"== {host.name}: build job")
        flow.console.print(reply.stdout.rstrip(), highlight=False, markup=False)


def benchmark(flow: Flow) -> None:
    """``fab benchmark``: the inference benchmark on every FPGA host, as the service runs (its user, groups and
    environment); a table, JSON and chart."""
    from roles.rhythm_service import tasks as rhythm_service
    from roles.rhythm_service.benchmark_report import save_report, show_report

    reports = {}
    for host in flow.hosts("f1"):
        v = rhythm_service.service_vars(host)
        env_file = f"{v['service_config_dir']}/{v['service_name']}.env"
        user = v["service_name"]  # with the unit's groups: its own and the card's (SupplementaryGroups)
        shell = (f"cd {v['service_root']}/current && runuser -u {user} -g {user} -G {v['fpga_group']} -- sh -c "
                 f"'set -a; . {env_file}; exec {v['service_root']}/venv/bin/python -m rhythm_service.benchmark'")
        reply = flow.connection(host).run(shell, sudo=True)
        if reply.exit_code != 0:
            raise FlowStopped(f"{host.name}: the benchmark failed: {reply.stderr.strip()[-400:]}", 2)
        reports[host.name] = json.loads(reply.stdout)
    show_report(reports, flow.console)
    for path in save_report(reports, artifacts_dir("benchmark")):
        flow.say(f"saved {path}", style="")
