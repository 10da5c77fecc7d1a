"""The fab tasks of fpgaops: each turns its options into a call into the toolkit, nothing more.

`fab --list` shows every task; `fab --help TASK` its options. Tasks that run roles on hosts
(`fab ping`, and the deployment tasks as they land) all take the same options: -i/--inventory
(default inventory/sandbox.yml, written by `fab sandbox.up`), -l/--limit, -t/--tags, -c/--check,
-d/--diff, -f/--forks, -v/--verbose, -e/--extra-vars, -a/--accept-new-host-keys.
"""

from __future__ import annotations

from pathlib import Path

from fabric import task
from invoke import Collection
from invoke.exceptions import Exit

from fpgaops.cli_options import COMMON_HELP, choose_inventory, roles_task
from fpgaops.platforms import DEFAULT_PLATFORM
from fpgaops.sandbox import lifecycle
from fpgaops.sandbox.config import DEFAULT_INVENTORY, DEFAULT_STATE_DIR, SandboxConfig
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.report import show_status
from fpgaops.sandbox.topology import parse_hosts
from roles.flow import flow_task
from roles.ping import tasks as ping_role


def _sandbox(action):
    try:
        show_status(action())
    except SandboxError as err:
        raise Exit(f"Error: {err}", code=1) from None


@task(help={
    "hosts": "static hosts, e.g. dev,f1-a,f1-b,errgen (name:f1 picks a host's platform)",
    "platform": "default FPGA platform of static hosts (f1 or f2)",
    "cloud": "run the local AWS endpoint (default yes; --no-cloud for host-only tests)",
    "port": "port of the local AWS endpoint",
    "network_index": "use 10.200.N.0/24, to run several sandboxes side by side",
    "state_dir": "where the sandbox keeps its keys, hosts and logs",
    "inventory": "where to write the sandbox's inventory",
})
def up(c, hosts="", platform=DEFAULT_PLATFORM.name, cloud=True, port=4566, network_index=0,
       state_dir=str(DEFAULT_STATE_DIR), inventory=str(DEFAULT_INVENTORY)):
    """Bring the sandbox up: local AWS endpoint and SSH hosts (root; rerunning changes nothing)."""
    cfg = SandboxConfig(state_dir=Path(state_dir).resolve(), inventory_path=Path(inventory).resolve(),
                        network_index=int(network_index), endpoint_port=int(port))
    _sandbox(lambda: lifecycle.up(cfg, parse_hosts(hosts, platform), cloud=cloud))


@task(help={"state_dir": "the sandbox's state directory"})
def sandbox_status(c, state_dir=str(DEFAULT_STATE_DIR)):
    """Show the sandbox: endpoint, hosts (static and instances), network."""
    _sandbox(lambda: lifecycle.status(SandboxConfig.load(Path(state_dir).resolve())))


@task(help={"state_dir": "the sandbox's state directory"})
def down(c, state_dir=str(DEFAULT_STATE_DIR)):
    """Bring the sandbox down: no process, namespace, mount, link or written file left."""
    _sandbox(lambda: lifecycle.down(SandboxConfig.load(Path(state_dir).resolve())))


@task(help={"state_dir": "the sandbox's state directory"})
def tour(c, state_dir=str(DEFAULT_STATE_DIR)):
    """Show every piece of a running sandbox working, end to end (hosts, DCP build, AFI, load, ...)."""
    from rich.console import Console

    from fpgaops.sandbox.tour import Tour  # boto3 and friends: imported only by the tasks that use them

    cfg = SandboxConfig.load(Path(state_dir).resolve())
    try:
        Tour(cfg, Console()).run()
    except SandboxError as err:
        raise Exit(f"Error: {err}", code=1) from None


ping = roles_task(lambda: [ping_role.role()], name="ping",
                  doc="Check that every host answers over SSH and can become root (changes nothing).")

AWS_HELP = {"inventory": COMMON_HELP["inventory"] + "; its variables say which AWS (or sandbox) and project",
            "project": "the Project tag (default: the inventory's `project`, else fpgaops)",
            "names": "only these instances (comma-separated names)", "roles": "only these roles (e.g. f1)",
            "yes": "do it without asking (for scripts)"}


def _aws_help(*params: str) -> dict[str, str]:
    return {param: AWS_HELP[param] for param in params}


def _aws_commands():
    """fpgaops.aws.commands, imported when an AWS task runs: boto3 costs every `fab` start ~0.2 s otherwise."""
    from fpgaops.aws import commands

    return commands


def _exit(code: int) -> None:
    if code:
        raise Exit(code=code)


@task(help=_aws_help("inventory", "project"))
def status(c, inventory="", project=""):
    """Show this project's instances (state, uptime, price, cost so far) and AFIs (state, age)."""
    _exit(_aws_commands().show_status(choose_inventory(inventory), project))


@task(help=AWS_HELP)
def stop(c, inventory="", project="", names="", roles="", yes=False):
    """Stop the project's instances (disks kept, FPGA images lost, billing stops); asks first."""
    _exit(_aws_commands().change_instances("stop", choose_inventory(inventory), project=project, names=names,
                                        roles=roles, yes=yes))


@task(help=AWS_HELP)
def start(c, inventory="", project="", names="", roles="", yes=False):
    """Start the project's stopped instances, within the budget; asks first."""
    _exit(_aws_commands().change_instances("start", choose_inventory(inventory), project=project, names=names,
                                        roles=roles, yes=yes))


@task(help={**_aws_help("inventory", "project", "yes"), "delete_afis": "also delete the project's AFIs"})
def teardown(c, inventory="", project="", delete_afis=False, yes=False):
    """Terminate every instance of the project (optionally its AFIs too); asks first."""
    _exit(_aws_commands().tear_down(choose_inventory(inventory), project=project, delete_afis=delete_afis, yes=yes))


def _step(name: str, doc: str, **flags: str):
    """The task running the flow step ``roles.deploy.<name>`` (imported when it runs: boto3 and roles load lazily)."""

    def steps(flow, **chosen):
        from roles import deploy

        return getattr(deploy, name.replace("-", "_"))(flow, **chosen)

    return flow_task(steps, name=name, doc=doc, flags=flags)


provision = _step("provision", "Make sure the AWS side exists (key pair, security group, instances); prepare hosts.")
deploy = _step("deploy", "Build the model and DCP, make the AFI, load it, deploy the service, install auto-shutdown.")
synth = _step("synth", "Train, convert, build the DCP on the dev host as a detached job (rerun re-attaches); fetch.")
afi = _step("afi", "Check, upload and register the fetched DCP tarball as an AFI and wait for it (resumable).")
load_afi = _step("load-afi", "Load the model's AFI on every FPGA host's slots (nothing done when already loaded).")
render_env = _step("render-env", "Render the service's .env and unit from their templates; restart it if they changed.")
service = _step("service", "Deploy the service release (code + model), venv, .env and unit; start it; check health.")
restart = _step("restart", "Restart the service on the FPGA hosts and check health.")
rollback = _step("rollback", "Switch the service back to its previous release and restart it.")
auto_shutdown = _step("auto-shutdown", "Install the idle check and nightly shutdown (root's cron) on the FPGA hosts.",
                      disable="remove the cron block, the idle check script and its count instead")
benchmark = _step("benchmark", "Run the inference benchmark on every FPGA host; show a table, save JSON and a chart.")
fpga_status = _step("fpga-status", "Show every slot of every FPGA host in one table: AFI, status, errors (read only).")
logs = _step("logs", "Show the service's and AFI unit's logs and the build job's.")
health = _step("health", "Check GET /health on every FPGA host and show its answer.")


ns = Collection(ping, status, stop, start, teardown, provision, deploy, synth, afi, load_afi, render_env, service,
                restart, rollback, auto_shutdown, benchmark, fpga_status, logs, health)
sandbox = Collection("sandbox", up, down, tour)
sandbox.add_task(sandbox_status, name="status")
ns.add_collection(sandbox)
