"""Facts: typed readings of a host's current state, one module per area.

Every fact is a frozen dataclass (its fields are its arguments, its ``repr`` its key), with the
sh command that reads it and the parser of that command's output and exit status.  Facts are
robust to missing things: a missing file, user, crontab or package tool is a value (None, empty),
never an error.
"""

from fpgaops.facts.commands import CommandStatus
from fpgaops.facts.cron import Crontab
from fpgaops.facts.files import FileText, FolderFiles, PathExists, PathStat, PathState
from fpgaops.facts.jobs import JOBS_DIR, JobState, JobStatus
from fpgaops.facts.network import HttpStatus, PortOpen
from fpgaops.facts.packages import AptListsAge, DpkgPackages, PackageManager, RpmPackages
from fpgaops.facts.systemd import ServiceState, ServiceStatus
from fpgaops.facts.users import Account, GroupId, UserAccount
from fpgaops.facts.uv import UvHost, UvTool

__all__ = [
    "JOBS_DIR",
    "Account",
    "AptListsAge",
    "CommandStatus",
    "Crontab",
    "DpkgPackages",
    "FileText",
    "FolderFiles",
    "GroupId",
    "HttpStatus",
    "JobState",
    "JobStatus",
    "PackageManager",
    "PathExists",
    "PathStat",
    "PathState",
    "PortOpen",
    "RpmPackages",
    "ServiceState",
    "ServiceStatus",
    "UserAccount",
    "UvHost",
    "UvTool",
]
