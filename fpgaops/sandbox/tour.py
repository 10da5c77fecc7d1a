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

import boto3
import paramiko
from fabric import Config, Connection
from rich.console import Console
from rich.table import Table

from fpgaops.aws.host_keys import host_keys_from_console
from fpgaops.inventory import Host, Inventory
from fpgaops.platforms import platform_named
from fpgaops.sandbox.config import SandboxConfig
from fpgaops.sandbox.errors import SandboxError
from fpgaops.sandbox.lifecycle import STAND_IN_NOTICE

DCP_TAG = "tour"
BUCKET = "fpgaops-tour"
TRIGGER = '{"trigger": "rhythm", "error_type": "business", "beat": 1, "section": "chorus", "tempo": 128.0}'


def connect(address: str, user: str, key_file: str, known_hosts: str) -> Connection:
    """An SSH connection that refuses any host key not pinned in ``known_hosts``."""
    conn = Connection(address, user=user, config=Config(overrides={"run": {"in_stream": False, "hide": True}}),
                      connect_kwargs={"key_filename": key_file, "look_for_keys": False, "allow_agent": False})
    conn.client.load_host_keys(known_hosts)
    conn.client.set_missing_host_key_policy(paramiko.RejectPolicy())
    conn.open()
    return conn


class Tour:
    """The tour's steps over one sandbox, sharing connections and AWS clients."""

    def __init__(self, cfg: SandboxConfig, console: Console):
        self.cfg, self.console = cfg, console
        if not (cfg.is_saved() and cfg.inventory_path.exists()):
            raise SandboxError(f"no sandbox inventory at {cfg.inventory_path}: run `fab sandbox.up` first")
        self.inventory = Inventory.load(cfg.inventory_path)
        self.sdk_archive = Path(self.inventory.groups["all"].vars["aws_fpga_sdk_archive"])
        self._connections: dict[str, Connection] = {}

    def aws(self, service: str):
        return boto3.client(service, endpoint_url=self.cfg.endpoint_url, region_name=self.cfg.region,
                            aws_access_key_id="sandbox", aws_secret_access_key="sandbox")

    def ssh(self, host: Host) -> Connection:
        if host.name not in self._connections:
            self._connections[host.name] = connect(host.address, host.user, str(self.cfg.client_key),
                                                   str(self.cfg.known_hosts))
        return self._connections[host.name]

    def first(self, group: str) -> Host:
        hosts = self.inventory.group_hosts(group)
        if not hosts:
            raise SandboxError(f"the tour needs a host in group {group!r}: `fab sandbox.up --hosts dev,f1-a,errgen`")
        return hosts[0]

    def step(self, title: str) -> None:
        self.console.rule(f"[bold]{title}")

    def push_sdk(self, conn: Connection) -> None:
        conn.put(str(self.sdk_archive), "aws-fpga.tar.gz")
        conn.run("rm -rf aws-fpga && tar xzf aws-fpga.tar.gz")

    # -- the steps ---------------------------------------------------------------------------
    def hosts(self) -> None:
        self.step("1. hosts: real sshd, strict host keys, sudo, systemctl, crontab")
        table = Table("host", "address", "hostname", "user", "sudo", "systemctl", "crontab")
        for host in self.inventory.hosts.values():
            conn = self.ssh(host)
            probe = conn.run("hostname; id -un; sudo -n id -u; systemctl --version | sed -n 2p | cut -d' ' -f4-; "
                             "echo '0 3 * * * true' | crontab - && crontab -l | wc -l && crontab -r").stdout.split("\n")
            table.add_row(host.name, host.address, probe[0], probe[1], "root" if probe[2] == "0" else "no",
                          probe[3].strip(), f"{probe[4]} line")
        self.console.print(table)

    def dcp_build(self) -> Path:
        self.step("2. dev host: the HDK builds a DCP tarball (Vivado stand-in from the FPGA Developer AMI)")
        conn = self.ssh(self.first("dev"))
        self.push_sdk(conn)
        script = ("source /etc/profile.d/default_module.sh && cd aws-fpga && source hdk_setup.sh >/dev/null && "
                  "export CL_DIR=$HDK_DIR/cl/examples/CL_TEMPLATE && cd $CL_DIR/build/scripts && "
                  f"./aws_build_dcp_from_cl.py -c CL_TEMPLATE -t {DCP_TAG} | tail -n 3")
        started = time.monotonic()
        self.console.print(conn.run(f"bash -c '{script}'").stdout.rstrip())
        remote = f"aws-fpga/hdk/cl/examples/CL_TEMPLATE/build/checkpoints/{DCP_TAG}.Developer_CL.tar"
        local = self.cfg.artifacts_dir / f"{DCP_TAG}.Developer_CL.tar"
        conn.get(remote, str(local))
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
        conn = self.ssh(host)
        self.push_sdk(conn)
        conn.run("bash -c 'cd aws-fpga && source sdk_setup.sh >/dev/null'")
        self.console.print(conn.run(f"sudo fpga-load-local-image -S 0 -I {agfi} -H").stdout.rstrip())

    def instance(self) -> None:
        self.step("5. an instance launched through the endpoint becomes a host")
        ec2 = self.aws("ec2")
        ec2.delete_key_pair(KeyName="fpgaops-tour")  # a rerun replaces it (deleting a missing key is not an error)
        ec2.import_key_pair(KeyName="fpgaops-tour",
                            PublicKeyMaterial=self.cfg.client_key.with_suffix(".pub").read_bytes())
        f2 = platform_named("f2")
        ami = ec2.describe_images(Owners=["aws-marketplace"],
                                  Filters=[{"Name": "name", "Values": [f2.ami_name_pattern]}])["Images"][0]
        launched = ec2.run_instances(ImageId=ami["ImageId"], InstanceType=f2.default_instance_type, MinCount=1,
                                     MaxCount=1, KeyName="fpgaops-tour",
                                     InstanceMarketOptions={"MarketType": "spot"})["Instances"][0]
        instance_id = launched["InstanceId"]
        try:
            described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
            keys = host_keys_from_console(ec2.get_console_output(InstanceId=instance_id)["Output"])
            known = self.cfg.state_dir / "tour_known_hosts"
            known.write_text("".join(f"{described['PublicIpAddress']} {k}\n" for k in keys))
            with connect(described["PublicIpAddress"], f2.login_user, str(self.cfg.client_key), str(known)) as conn:
                hostname = conn.run("hostname").stdout.strip()
            self.console.print(f"{ami['Name']} -> {instance_id} (spot {f2.default_instance_type}) at "
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
        self.console.print(self.ssh(fpga).run(post).stdout.strip())
        self.console.print(self.ssh(errgen).run("tail -n 1 /var/lib/errgen/triggers.jsonl").stdout.strip())

    def run(self) -> None:
        self.console.print(f"[bold]{STAND_IN_NOTICE}")
        try:
            self.hosts()
            self.load(self.afi(self.dcp_build()))
            self.instance()
            self.errgen()
        finally:
            for conn in self._connections.values():
                conn.close()
        self.console.rule("[bold green]tour complete: every piece of the sandbox works")
