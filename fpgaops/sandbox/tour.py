"""A guided tour of a running sandbox: every piece shown working, end to end.

    sudo .venv/bin/fab sandbox.up --hosts dev,f1-a,errgen && sudo .venv/bin/fab sandbox.tour

1. each host over SSH (strict host keys): user, sudo, systemctl, crontab;
2. the vendor tool stand-ins on ``dev``: the HDK builds a DCP tarball from the CL template;
3. the local AWS endpoint: the tarball goes to S3 and becomes an AFI (pending -> available);
4. the FPGA tool stand-ins on an FPGA host: the SDK installed by ``sdk_setup.sh``, the AGFI loaded;
5. an instance launched through the endpoint becomes a host, reached with the host keys its
   console output gives, then terminated;
6. the error generator stand-in receives a trigger from the FPGA host.

It grows into ``fab provision deploy`` as the roles land; until then it is the sandbox's
end-to-end self-check.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fpgaops.aws.host_keys import host_keys_from_console
from fpgaops.aws.instances import find_developer_ami
from fpgaops.aws.session import AwsClients, AwsSettings
from fpgaops.connection import ConnectionPool, HostConnection
from fpgaops.core import Upload
from fpgaops.inventory import Host, Inventory
from fpgaops.platforms import platform_named
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.lifecycle import STAND_IN_NOTICE

DCP_TAG = "tour"
BUCKET = "fpgaops-tour"
TRIGGER = '{"trigger": "rhythm", "error_type": "business", "beat": 1, "section": "chorus", "tempo": 128.0}'


class TourError(SandboxError):
    """A step of the tour did not do what it shows."""


def checked(host: Host, conn: HostConnection, shell: str, sudo: bool = False) -> str:
    """Run ``shell`` on ``host`` and return its stdout; a failure stops the tour with its stderr."""
    result = conn.run(shell, sudo=sudo)
    if not result.ok:
        raise TourError(f"{host.name}: `{shell}` failed ({result.exit_code}): {result.stderr.strip()[-500:]}")
    return result.stdout


class Tour:
    """The tour's steps over one sandbox, sharing connections and AWS clients."""

    def __init__(self, cfg: SandboxConfig, console: Console):
        self.cfg, self.console = cfg, console
        if not (cfg.is_saved() and cfg.inventory_path.exists()):
            raise SandboxError(f"no sandbox inventory at {cfg.inventory_path}: run `fab sandbox.up` first")
        self.inventory = Inventory.load(cfg.inventory_path)
        self.sdk_archive = Path(self.inventory.groups["all"].vars["aws_fpga_sdk_archive"])
        self.clients = AwsClients(AwsSettings.sandbox(cfg.endpoint_url, cfg.region))
        self.pool = ConnectionPool()  # strict host keys: the sandbox's known_hosts, from the inventory

    def aws(self, service: str):
        return self.clients.client(service)

    def on(self, host: Host, shell: str, sudo: bool = False) -> str:
        """Run ``shell`` on ``host`` over the tour's one connection to it; its stdout."""
        return checked(host, self.pool.get(host), shell, sudo)

    def first(self, group: str) -> Host:
        hosts = self.inventory.group_hosts(group)
        if not hosts:
            raise SandboxError(f"the tour needs a host in group {group!r}: `fab sandbox.up --hosts dev,f1-a,errgen`")
        return hosts[0]

    def step(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def push_sdk(self, host: Host) -> None:
        self.pool.get(host).put(Upload("aws-fpga.tar.gz", local_path=str(self.sdk_archive)))
        self.on(host, "rm -rf aws-fpga && tar xzf aws-fpga.tar.gz")

    # -- the steps ---------------------------------------------------------------------------
    def hosts(self) -> None:
        self.step("1. hosts: real sshd, strict host keys, sudo, systemctl, crontab")
        table = Table("host", "address", "hostname", "user", "sudo", "systemctl", "crontab")
        for host in self.inventory.hosts.values():
            probe = self.on(host, "hostname; id -un; sudo -n id -u; systemctl --version | sed -n 2p | cut -d' ' -f4-; "
                             "echo '0 3 * * * true' | crontab - && crontab -l | wc -l && crontab -r").split("\n")
            table.add_row(host.name, host.address, probe[0], probe[1], "root" if probe[2] == "0" else "no",
                          probe[3].strip(), f"{probe[4]} line")
        self.console.print(table)

    def dcp_build(self) -> Path:
        self.step("2. dev host: the HDK builds a DCP tarball (Vivado stand-in from the FPGA Developer AMI)")
        dev = self.first("dev")
        self.push_sdk(dev)
        script = ("source /etc/profile.d/default_module.sh && cd aws-fpga && source hdk_setup.sh >/dev/null && "
                  "export CL_DIR=$HDK_DIR/cl/examples/CL_TEMPLATE && cd $CL_DIR/build/scripts && "
                  f"./aws_build_dcp_from_cl.py -c CL_TEMPLATE -t {DCP_TAG} | tail -n 3")
        started = time.monotonic()
        self.console.print(self.on(dev, f"bash -c '{script}'").rstrip())
        remote = f"aws-fpga/hdk/cl/examples/CL_TEMPLATE/build/checkpoints/{DCP_TAG}.Developer_CL.tar"
        local = self.cfg.artifacts_dir / f"{DCP_TAG}.Developer_CL.tar"
        self.pool.get(dev).fetch(remote, local)
        self.console.print(f"built in {time.monotonic() - started:.1f} s, fetched {local.name} "
                           f"({local.stat().st_size} bytes)")
        return local

    def afi(self, tarball: Path) -> str:
        self.step("3. local AWS endpoint: S3 upload, create_fpga_image, pending -> available")
        s3, ec2 = self.aws("s3"), self.aws("ec2")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(tarball), BUCKET, f"dcp/{tarball.name}")
        created = ec2.create_fpga_image(InputStorageLocation={"Bucket": BUCKET, "Key": f"dcp/{tarball.name}"},
                                        LogsStorageLocation={"Bucket": BUCKET, "Key": "logs"},
                                        Name="tour", ClientToken=f"tour-{tarball.stat().st_mtime_ns}")
        started = time.monotonic()
        with self.console.status(f"{created['FpgaImageId']} pending...") as status:
            while (state := ec2.describe_fpga_images(FpgaImageIds=[created["FpgaImageId"]])
                   ["FpgaImages"][0]["State"])["Code"] == "pending":
                status.update(f"{created['FpgaImageId']} pending, {time.monotonic() - started:.0f} s")
                time.sleep(0.5)
        self.console.print(f"{created['FpgaImageId']} / {created['FpgaImageGlobalId']}: {state}")
        if state["Code"] != "available":
            raise SandboxError(f"the AFI did not become available: {state}")
        return created["FpgaImageGlobalId"]

    def load(self, agfi: str) -> None:
        host = self.first("f1")
        self.step(f"4. FPGA host {host.name}: sdk_setup.sh installs the FPGA tools, the AGFI loads")
        self.push_sdk(host)
        self.on(host, "bash -c 'cd aws-fpga && source sdk_setup.sh >/dev/null'")
        self.console.print(self.on(host, f"fpga-load-local-image -S 0 -I {agfi} -H", sudo=True).rstrip())

    def instance(self) -> None:
        self.step("5. an instance launched through the endpoint becomes a host")
        ec2 = self.aws("ec2")
        ec2.delete_key_pair(KeyName="fpgaops-tour")  # a rerun replaces it (deleting a missing key is not an error)
        ec2.import_key_pair(KeyName="fpgaops-tour",
                            PublicKeyMaterial=self.cfg.client_key.with_suffix(".pub").read_bytes())
        f2 = platform_named("f2")
        ami = find_developer_ami(ec2, f2)  # the newest, as provision picks it
        launched = ec2.run_instances(ImageId=ami.image_id, InstanceType=f2.default_instance_type, MinCount=1,
                                     MaxCount=1, KeyName="fpgaops-tour",
                                     InstanceMarketOptions={"MarketType": "spot"})["Instances"][0]
        instance_id = launched["InstanceId"]
        try:
            described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
            keys = host_keys_from_console(ec2.get_console_output(InstanceId=instance_id)["Output"])
            known = self.cfg.state_dir / "tour_known_hosts"
            known.write_text("".join(f"{described['PublicIpAddress']} {k}\n" for k in keys))
            instance = Inventory.from_dict({"all": {"hosts": {instance_id: {
                "ansible_host": described["PublicIpAddress"], "ansible_user": f2.login_user,
                "ansible_ssh_private_key_file": str(self.cfg.client_key), "fpgaops_known_hosts": str(known)}}}})
            hostname = self.on(instance.host(instance_id), "hostname").strip()
            self.console.print(f"{ami.name} -> {instance_id} (spot {f2.default_instance_type}) at "
                               f"{described['PublicIpAddress']}: ssh {f2.login_user}@... says hostname {hostname}")
        finally:
            ec2.terminate_instances(InstanceIds=[instance_id])
        self.console.print(f"{instance_id} terminated: its host is gone")

    def errgen(self) -> None:
        fpga, errgen = self.first("f1"), self.first("errgen")
        self.step(f"6. error generator stand-in on {errgen.name} receives a trigger from {fpga.name}")
        post = ("python3 -c 'import sys, urllib.request as u; r = u.Request(sys.argv[1], sys.argv[2].encode(), "
                "{\"Content-Type\": \"application/json\"}); print(u.urlopen(r, timeout=5).read().decode())' "
                f"http://{errgen.address}:9090/api/rhythm-trigger '{TRIGGER}'")
        self.console.print(self.on(fpga, post).strip())
        self.console.print(self.on(errgen, "tail -n 1 /var/lib/errgen/triggers.jsonl").strip())

    def run(self) -> None:
        self.console.print(f"[bold]{STAND_IN_NOTICE}")
        try:
            self.hosts()
            self.load(self.afi(self.dcp_build()))
            self.instance()
            self.errgen()
        finally:
            self.pool.close()
        self.console.rule("[bold green]tour complete: every piece of the sandbox works")
