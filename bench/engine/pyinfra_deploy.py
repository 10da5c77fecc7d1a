"""The engine benchmark's deployment for pyinfra 3: the same 15 steps as bench/engine/deployment.py
(fpgaops) and bench/engine/playbook.yml (Ansible); see bench/engine/spec.py.

Run by bench/engine/run.py with pyinfra's own venv, as root through sudo:

    pyinfra -y --sudo INVENTORY.py bench/engine/pyinfra_deploy.py --data artifact_src=<the 5 MB artifact>

pyinfra has no handlers: the restart runs when one of the operations that would notify it changed
(``_if=any_changed(...)``), and the unit's daemon-reload when the unit changed, as its docs show.
"""

from pathlib import Path

from pyinfra import host
from pyinfra.facts.files import File
from pyinfra.operations import crontab, files, server, systemd
from pyinfra.operations.util import any_changed

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE.parents[1] / "templates" / "bench"
FILES = HERE / "files"
TEMPLATE_VARS = {
    "app_name": "benchapp",
    "app_user": "benchapp",
    "app_port": 8080,
    "model_path": "/opt/benchapp/model.bin",
    "config_dir": "/etc/benchapp",
    "log_dir": "/var/log/benchapp",
    "api_token": "bench-not-a-secret-0123456789abcdef",
    "script_path": "/opt/benchapp/bin/benchapp.sh",
    "env_path": "/etc/benchapp/benchapp.env",
    "home": "/var/lib/benchapp",
}

server.user(name="system user benchapp", user="benchapp", system=True, home="/var/lib/benchapp",
            create_home=True, shell="/usr/sbin/nologin")
files.directory(name="directory /opt/benchapp", path="/opt/benchapp", user="root", group="root", mode="0755")
files.directory(name="directory /opt/benchapp/bin", path="/opt/benchapp/bin", user="root", group="root",
                mode="0755")
files.directory(name="directory /etc/benchapp", path="/etc/benchapp", user="root", group="benchapp", mode="0750")
files.directory(name="directory /var/log/benchapp", path="/var/log/benchapp", user="benchapp", group="benchapp",
                mode="0750")
artifact = files.put(name="the 5 MB artifact", src=host.data.artifact_src, dest="/opt/benchapp/model.bin",
                     user="root", group="root", mode="0644")
env_file = files.template(name="the .env", src=str(TEMPLATES / "benchapp.env.j2"), dest="/etc/benchapp/benchapp.env",
                          user="root", group="root", mode="0600", **TEMPLATE_VARS)
unit = files.template(name="the unit benchapp.service", src=str(TEMPLATES / "benchapp.service.j2"),
                      dest="/etc/systemd/system/benchapp.service", user="root", group="root", mode="0644",
                      **TEMPLATE_VARS)
systemd.daemon_reload(name="daemon-reload when the unit changed", _if=unit.did_change)
files.line(name="the managed line in /etc/hosts", path="/etc/hosts",
           line=r"^127\.0\.0\.1[[:space:]]+benchapp\.internal$", replace="127.0.0.1 benchapp.internal",
           extended_regex=True)
crontab.crontab(name="the cron entry", command="/opt/benchapp/bin/benchapp.sh health", user="benchapp",
                cron_name="benchapp-health", minute="*/5")
script = files.put(name="the script", src=str(FILES / "benchapp.sh"), dest="/opt/benchapp/bin/benchapp.sh",
                   user="root", group="root", mode="0755")
if host.get_fact(File, path="/opt/benchapp/venv/bin/python") is None:  # creates=: None when nothing is there
    server.shell(name="create the venv /opt/benchapp/venv", commands=["python3 -m venv /opt/benchapp/venv"])
app_toml = files.put(name="config app.toml", src=str(FILES / "app.toml"), dest="/etc/benchapp/app.toml",
                     user="root", group="benchapp", mode="0640")
logging_ini = files.put(name="config logging.ini", src=str(FILES / "logging.ini"), dest="/etc/benchapp/logging.ini",
                        user="root", group="benchapp", mode="0640")
systemd.service(name="benchapp.service enabled and running", service="benchapp.service", running=True,
                enabled=True)
systemd.service(name="restart benchapp", service="benchapp.service", running=True, restarted=True,
                _if=any_changed(artifact, env_file, unit, script, app_toml, logging_ini))
