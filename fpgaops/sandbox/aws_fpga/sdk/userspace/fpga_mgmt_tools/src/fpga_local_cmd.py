#!/usr/bin/python3
"""fpga-local-cmd: the fpgaops sandbox stand-in for the program behind AWS's AFI Management Tools.

The real ``fpga-local-cmd`` (aws-fpga, ``sdk/userspace/fpga_mgmt_tools/src``) talks to the FPGA's
mailbox PCI function.  A sandbox host has no FPGA, so this program keeps each slot's state in
files and asks the sandbox's local AWS endpoint whether an AGFI may be loaded.  Everything a user
sees (options, usage texts, printf formats, error lines, exit statuses) follows the real tools;
``-V`` adds one line saying this is a stand-in.

It runs on sandbox hosts with the system ``/usr/bin/python3``: standard library only, no fpgaops.
``sdk/userspace/mkall_fpga_mgmt_tools.sh`` "builds" it into ``fpga-local-cmd``; the wrappers
(``fpga-load-local-image``, ...) call ``fpga-local-cmd <Opcode> "$@"`` as the real ones do.

Runtime contract (fixed by the sandbox):

* ``$FPGAOPS_SANDBOX_RUN/host.json`` (default ``/run/sandbox``) describes the host: ``platform``
  (``f1``/``f2``/null), ``shells`` (the platform's shell ids from the platform table, the default
  first: a cleared slot shows it; an AFI of any of them loads and shows its own), ``fpga_slots``,
  ``endpoint_url``, ``region``, ``timings.fpga_busy_s``.
* ``$FPGAOPS_SANDBOX_RUN/fpga/`` (root only) holds the slots' state, lost when the host stops,
  like a real FPGA's image.  Writers hold an ``fcntl`` lock and replace files atomically.
* ``GET {endpoint_url}/_sandbox/fpga-images/{agfi}?region={region}`` answers the image
  (``State.Code``, ``ShellVersion``, ``PciId``) or 404.

* With ``fpga_card`` in host.json (``{"pci_devices": "/sys/bus/pci/devices"}``: sandbox hosts with
  FPGAs), a loaded slot's application PF exists as ``<pci_devices>/<DBDF>/`` with ``vendor``,
  ``device`` (the AFI's PCI ids), ``class`` (0x058000) and a 4 KiB ``resource0`` (BAR0, the OCL
  registers, mode 0600), created when the load completes and removed when a load or clear starts
  (real hardware keeps the PF with its cleared ids; here no device means no AFI). Udev's part is
  played too: the ``RUN`` commands of ``/etc/udev/rules.d/*.rules`` lines matching the DBDF (what
  sdk_setup.sh installs with ``AWS_FPGA_ALLOW_NON_ROOT``: group rw) run once the files exist. The
  endpoint's FPGA card stand-in serves resource0: ``POST /_sandbox/fpga-designs/{agfi}`` when a load
  starts (the load stays busy until the card has the design ready), ``PUT``/``DELETE
  /_sandbox/fpga-cards/{host}/{slot}`` when the device appears or goes.

PCI addresses (application PF; the mailbox PF is the next device number), for a host with N slots:
slot i is device ``last - 2 * (N - 1 - i)``, ``last`` being 0x1d on F1 and 0x1e on F2.  This gives
the addresses of AWS's samples: f1.2xlarge slot 0 at 0000:00:1d.0, f1.16xlarge slots at 0f..1d,
f2.6xlarge slot 0 at 0000:00:1e.0.
"""

import errno
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

PROG = "fpga-local-cmd"
SANDBOX_NOTE = "(fpgaops sandbox stand-in: no FPGA hardware here)"
RUN_DIR_ENV = "FPGAOPS_SANDBOX_RUN"
DEFAULT_RUN_DIR = "/run/sandbox"
DEFAULT_BUSY_S = 2.0
ENDPOINT_TIMEOUT_S = 5.0
CARD_ATTACH_TIMEOUT_S = 150.0  # the card may still be building the design's emulation
DESIGN_POLL_S = 0.2  # a load whose design is being prepared is checked again this often
BAR0_BYTES = 4096
MEMORY_CONTROLLER_CLASS = "0x058000"
UDEV_RULES_DIR = Path("/etc/udev/rules.d")
UDEV_RULE_RE = re.compile(
    r'KERNEL=="\*(?P<dbdf>[^*"]+)\*",\s*(?:ACTION=="(?P<action>[a-z]+)",\s*)?RUN\+="(?P<run>[^"]+)"')

FPGA_SLOT_MAX = 8
AFI_ID_STR_MAX = 64
CACHED_AGFIS_MAX = 16
AGFI_RE = re.compile(r"agfi-[0-9a-f]{17}")
NUMBER_RE = re.compile(r"\s*\+?(?:0[xX](?P<hex>[0-9a-fA-F]+)|(?P<oct>0[0-7]*)|(?P<dec>[1-9][0-9]*))")
VENDOR_ID = 0x1D0F
REQUEST_TIMEOUT_MIN_S = 10  # CLI_REQUEST_TIMEOUT_DFLT (50 polls) x 200 ms
SYNC_TIMEOUT_MIN_S = 60  # CLI_SYNC_TIMEOUT_DFLT (300 polls) x 200 ms
TIMEOUT_MAX_S = 0xFFFFFFFF * 200 // 1000

# FPGA status codes and error codes (fpga_common.h)
LOADED, CLEARED, BUSY = 0, 1, 2
STATUS_NAMES = {LOADED: "loaded", CLEARED: "cleared", BUSY: "busy"}
ERR_OK, ERR_BUSY, ERR_AFI_ID_INVALID, ERR_FAIL, ERR_PCI_MISSING = 0, 3, 5, 14, 20
ERROR_NAMES = {
    ERR_OK: "ok",
    ERR_BUSY: "busy",
    ERR_AFI_ID_INVALID: "invalid-afi-id",
    ERR_FAIL: "unspecified-error",
    ERR_PCI_MISSING: "pci-device-missing",
}
# fpga_mgmt_strerror_long(); busy and invalid-afi-id are verbatim from AWS tests and user logs,
# the pci-device-missing and timeout paragraphs are written from the source's intent.
LONG_HELP = {
    ERR_BUSY: "The FPGA is busy with an operation such as a load or a clear.\n",
    ERR_AFI_ID_INVALID: "The agfi id passed is invalid or you do not have permission to load\nthe AFI.\n",
    ERR_PCI_MISSING: (
        "The FPGA PCI device could not be found. Check that the instance type has\n"
        "FPGAs, and use fpga-describe-local-image-slots to list the FPGA slots.\n"
    ),
    -errno.ETIMEDOUT: (
        "The operation timed out. The FPGA may still be busy: use\n"
        "fpga-describe-local-image to check its status.\n"
    ),
}

AFI_HEADER = (
    "Type  FpgaImageSlot  FpgaImageId             StatusName    StatusCode   ErrorName    ErrorCode   ShVersion"
)
DEVICE_HEADER = "Type  FpgaImageSlot  VendorId    DeviceId    DBDF"
# The printf formats of fpga_local_cmd.c (TYPE_FMT "%-10s", PCI_DEV_FMT "%04x:%02x:%02x.%d")
AFI_FMT = "%-10s  %2u       %-22s" "  %-8s         %2d        %-8s        %2d       0x%08x"
DEVICE_FMT = "%-10s  %2u       0x%04x      0x%04x      %04x:%02x:%02x.%d"


@dataclass(frozen=True)
class Platform:
    """What the tools show of one FPGA instance generation (see fpgaops/platforms.py)."""

    name: str
    cleared_device_id: int  # application PF device id of an empty slot
    empty_slot_label: str  # FpgaImageId of an empty slot
    tools_version: str
    mbox_device_id: int  # management (mailbox) PF device id
    last_app_device: int  # PCI device number of the last slot's application PF

    @property
    def is_f1(self) -> bool:
        """F1 tools (1.4.x) take -D/-a/-b/-c on load; F2 tools (2.0.x) take -L on describe."""
        return self.name == "f1"


PLATFORMS = {
    "f1": Platform("f1", 0x1042, "none", "1.4.25", 0x1041, 0x1D),
    # The F2 mailbox PF device id is not published in aws-fpga: 0x9148 is the sandbox's choice.
    "f2": Platform("f2", 0x9048, "No AFI", "2.0.6", 0x9148, 0x1E),
}
DEFAULT_PLATFORM = "f2"


class CliError(Exception):
    """A failure reported as ``Error: (code) name``; the exit status is the code modulo 256."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class ParserCompleted(Exception):
    """-h or -V answered: the exit status is that of -EINVAL, without an Error line."""


class UsageError(Exception):
    """Bad arguments: the command's usage text follows, then ``Error: (-22) Invalid argument``."""


# --------------------------------------------------------------------------- usage texts

OPCODE_USAGE = (
    "  SYNOPSIS",
    "     fpga-local-cmd [GENERAL OPTIONS] [-h]",
    "  DESCRIPTION",
    "     This program is normally executed via the wrapper scripts.",
    "     See fpga-load-local-image, fpga-clear-local-image,",
    "     fpga-describe-local-image, fpga-describe-local-image-slots.",
    "     fpga-start-virtual-jtag, fpga-get-virtual-led",
    "     fpga-get-virtual-dip-switch, fpga-set-virtual-dip-switch",
    "  GENERAL OPTIONS",
    "     LoadFpgaImage, ClearFpgaImage, DescribeFpgaImage,",
    "     DescribeFpgaImageSlots, StartVirtualJtag, GetVirtualLED,",
    "     GetVirtualDIP, SetVirtualDIP",
)

HELP_LINES = (
    "      -h, --help",
    "          Display this help.",
    "      -H, --headers",
    "          Display column headers.",
    "      -V, --version",
    "          Display version number of this program.",
    "      --request-timeout TIMEOUT",
    "          Specify a request timeout TIMEOUT (in seconds).",
)

SLOT_OPTION = (
    "      -S, --fpga-image-slot",
    "          The logical slot number for the FPGA image.",
    "          Constraints: Positive integer from 0 to the total slots minus 1.",
)

RESCAN_NOTE = (
    "      The rescan operation removes the AFIDEVICE from the sysfs PCI",
    "      subsystem and then rescans the PCI subsystem in order for",
    "      the modified AFI PCI IDs to be refreshed.",
    "      It is the developer's responsibility to remove any",
    "      driver previously installed on the older PCIe VendorId",
)

SLOTS_USAGE = (
    "  SYNOPSIS",
    "      fpga-describe-local-image-slots [GENERAL OPTIONS] [-h]",
    "      Example: fpga-describe-local-image-slots",
    "  DESCRIPTION",
    "      Returns the FPGA image slot numbers and device mappings to use for",
    "      the fpga-load-local-image, fpga-clear-local-image, and",
    "      fpga-describe-local-image commands.",
    "  GENERAL OPTIONS",
    *HELP_LINES,
    "      -M, --show-mbox",
    "          Show the mbox physical function in the list of devices.",
)


def describe_usage(platform: Platform) -> tuple[str, ...]:
    """fpga-describe-local-image's usage; F2's tools add -L."""
    clear_cache = () if platform.is_f1 else (
        "      -L, --clear-cache",
        "          Return FPGA image hardware metrics (clear afi cache on read).",
        "          Examples: agfi-<number>",
    )
    return (
        "  SYNOPSIS",
        "      fpga-describe-local-image [GENERAL OPTIONS] [-h]",
        "      Example: fpga-describe-local-image -S 0",
        "  DESCRIPTION",
        "      Returns the status of the FPGA image for a specified FPGA image",
        "      slot number. The fpga-image-slot parameter is a logical index that",
        "      represents a given FPGA within an instance.",
        "      Use fpga-describe-local-image-slots to return the available FPGA",
        "      image slots for the instance.",
        "  GENERAL OPTIONS",
        *SLOT_OPTION,
        "      -M, --metrics",
        "          Return FPGA image hardware metrics.",
        "          Examples: FPGA PCI and DDR metrics.",
        "      -C, --clear-metrics",
        "          Return FPGA image hardware metrics (clear on read).",
        "          Examples: FPGA PCI and DDR metrics.",
        *clear_cache,
        "      -R, --rescan",
        "          Rescan the AFIDEVICE to update the per-AFI PCI VendorId and",
        "          DeviceId that may be dynamically modified due to a",
        "          fpga-load-local-image or fpga-clear-local-image command.",
        "          NOTE1: this option removes the AFIDEVICE from the sysfs PCI",
        "          subsystem and then rescans the PCI subsystem in order for",
        "          the modified AFI PCI IDs to be refreshed.",
        "          NOTE2: it is the developer's responsibility to remove any",
        "          driver previously installed on the older PCIe VendorId",
        "          and DeviceId before fpga-clear-local-image,",
        "          fpga-load-local-image, or re-scan.",
        *HELP_LINES,
    )


def load_usage(platform: Platform) -> tuple[str, ...]:
    """fpga-load-local-image's usage (F2 verbatim; F1's -D text is reconstructed)."""
    f1_only = () if not platform.is_f1 else (
        "      -D, --dram-data-retention",
        "          Keep the contents of the FPGA DDR memories across the AFI load.",
        "          Requires an AFI and shell that support DRAM data retention.",
        "      -a, --clock-a0-freq",
        "          Request the clock a0 frequency be set to this value in Mhz or less,",
        "          setting other frequencies in clock group a much slower.",
        "      -b, --clock-b0-freq",
        "          Request the clock b0 frequency be set to this value in Mhz or less,",
        "          setting other frequencies in clock group b much slower.",
        "      -c, --clock-c0-freq",
        "          Request the clock c0 frequency be set to this value in Mhz or less,",
        "          setting other frequencies in clock group c much slower.",
    )
    return (
        "  SYNOPSIS",
        "      fpga-load-local-image [GENERAL OPTIONS] [-h]",
        "      Example: fpga-load-local-image -S 0 -I <fpga-image-id>",
        "  DESCRIPTION",
        "      Loads the specified FPGA image to the specified slot number, and",
        "      returns the status of the command.  The fpga-image-slot parameter",
        "      is a logical index that represents a given FPGA within an instance.",
        "      Use fpga-describe-local-image to return the FPGA image status, and",
        "      fpga-describe-local-image-slots to return the available FPGA image",
        "      slots for the instance.",
        "      NOTE: By default, this command automatically rescans the AFIDEVICE",
        "      to update the per-AFI PCI VendorId and DeviceId that may be",
        "      dynamically modified during each FPGA image load.",
        *RESCAN_NOTE,
        "      and DeviceId before the FPGA image is loaded.",
        "  GENERAL OPTIONS",
        "      -S, --fpga-image-slot",
        "          The logical slot number for the FPGA image",
        "          Constraints: Positive integer from 0 to the total slots minus 1.",
        "      -I, --fpga-image-id",
        "          The ID of the FPGA image. agfi-<number>",
        "      -A, --async",
        "          The default mode of operation is synchronous FPGA image load",
        "          with automatic rescan.  The --async option may be specfied",
        "          for asynchronous FPGA image load completion, which may be",
        "          polled for completion using fpga-describe-local-image.",
        *HELP_LINES,
        "      --sync-timeout TIMEOUT",
        "          Specify a timeout TIMEOUT (in seconds) for the sequence",
        "          of operations that are performed in the synchronous (blocking)",
        "          mode.",
        "      -F, --force-shell-reload",
        "          Reload the FPGA shell on AFI load, even if the next AFI",
        "          doesn't require it.",
        "      -P, --prefetch-image",
        "          Prefetch the indicated AFI and store it in the cache for faster loading.",
        "          Fastest load times can be achieved by using cached AFIs and enabling data retention (-D).",
        "          See Reducing AFI load times documentation.",
        *f1_only,
    )


CLEAR_USAGE = (
    "  SYNOPSIS",
    "      fpga-clear-local-image [GENERAL OPTIONS] [-h]",
    "      Example: fpga-clear-local-image -S 0",
    "  DESCRIPTION",
    "      Clears the specified FPGA image slot, including FPGA internal and",
    "      external memories that are used by the slot. The fpga-image-slot",
    "      parameter is a logical index that represents a given FPGA within",
    "      an instance.",
    "      Use fpga-describe-local-image to return the FPGA image status, and",
    "      fpga-describe-local-image-slots to return the available FPGA image",
    "      slots for the instance.",
    "      NOTE: By default, this command automatically rescans the AFIDEVICE",
    "      to update the default AFI PCI VendorId and DeviceId that are",
    "      dynamically modified during each FPGA image clear.",
    *RESCAN_NOTE,
    "      and DeviceId before the FPGA image is cleared.",
    "  GENERAL OPTIONS",
    *SLOT_OPTION,
    "      -A, --async",
    "          The default mode of operation is synchronous FPGA image clear",
    "          with automatic rescan.  The --async option may be specfied",
    "          for asynchronous FPGA image clear completion, which may be",
    "          polled for completion using fpga-describe-local-image.",
    *HELP_LINES,
    "      --sync-timeout TIMEOUT",
    "          Specify a timeout TIMEOUT (in seconds) for the sequence",
    "          of operations that are performed in the synchronous (blocking)",
    "          mode",
)


# --------------------------------------------------------------------------- command line


@dataclass
class Options:
    """What the command line asked for."""

    slot: int | None = None
    afi_id: str = ""
    headers: bool = False
    async_: bool = False
    prefetch: bool = False
    metrics: bool = False
    clear_cache: bool = False
    show_mbox: bool = False
    sync_timeout_s: int = SYNC_TIMEOUT_MIN_S


@dataclass(frozen=True)
class CommandSpec:
    """One opcode's getopt_long tables and usage.

    ``flags`` maps a flag letter to the Options fields it sets (empty: accepted, no effect
    here, e.g. -F, -R, -C, -D); letters of ``shortopts`` found neither there nor among the
    value options fall to the usage text, as in the real parser's ``default:`` case.
    """

    shortopts: str
    longopts: dict[str, tuple[bool, str]]  # long name -> (takes an argument, letter)
    usage: tuple[str, ...]
    flags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required: tuple[str, ...] = ()  # Options fields that must be set


COMMON_LONGOPTS = {
    "request-timeout": (True, "r"),
    "headers": (False, "H"),
    "help": (False, "h"),
    "version": (False, "V"),
}


def command_specs(platform: Platform) -> dict[str, CommandSpec]:
    """The four opcodes' parsers, as built into the platform's tools."""
    slot_opt = {"fpga-image-slot": (True, "S")}
    sync_opts = {"sync-timeout": (True, "s"), "async": (False, "A")}
    load_long = {**slot_opt, "fpga-image-id": (True, "I"), **COMMON_LONGOPTS, **sync_opts,
                 "force-shell-reload": (False, "F"), "prefetch-image": (False, "P")}
    load_flags = {"A": ("async_",), "H": ("headers",), "F": (), "P": ("prefetch", "async_")}
    describe_long = {**slot_opt, "metrics": (False, "M"), "clear-metrics": (False, "C"),
                     **COMMON_LONGOPTS, "rescan": (False, "R")}
    describe_flags = {"M": ("metrics",), "C": ("metrics",), "R": (), "H": ("headers",)}
    if platform.is_f1:
        load_short = "S:I:r:s:AH?hVFDPa:b:c:"
        load_long |= {"dram-data-retention": (False, "D"), "clock-a0-freq": (True, "a"),
                      "clock-b0-freq": (True, "b"), "clock-c0-freq": (True, "c")}
        load_flags["D"] = ()
        describe_short = "S:MCr:RH?hV"
    else:
        load_short = "S:I:r:s:AH?hVFDP"  # -D is in F2's optstring but handled by no case
        describe_short = "S:MCLr:RH?hV"
        describe_long["clear-cache"] = (False, "L")
        describe_flags["L"] = ("metrics", "clear_cache")
    return {
        "LoadFpgaImage": CommandSpec(load_short, load_long, load_usage(platform), load_flags,
                                     ("slot", "afi_id")),
        "ClearFpgaImage": CommandSpec("S:r:s:AH?hV", {**slot_opt, **COMMON_LONGOPTS, **sync_opts},
                                      CLEAR_USAGE, {"A": ("async_",), "H": ("headers",)}, ("slot",)),
        "DescribeFpgaImageSlots": CommandSpec("r:H?hVM", {**COMMON_LONGOPTS, "show-mbox": (False, "M")},
                                              SLOTS_USAGE, {"H": ("headers",), "M": ("show_mbox",)}),
        "DescribeFpgaImage": CommandSpec(describe_short, describe_long, describe_usage(platform),
                                         describe_flags, ("slot",)),
    }


def warn(message: str) -> None:
    """A getopt diagnostic, on stderr like glibc's."""
    sys.stderr.write(f"{PROG}: {message}\n")


def getopt_long(
    argv: list[str], shortopts: str, longopts: dict[str, tuple[bool, str]]
) -> Iterator[tuple[str, str | None]]:
    """Yield (letter, argument) as glibc's getopt_long would, '?' on a diagnosed error.

    Non-options (the opcode first) are skipped as GNU permutation does; "--" ends the options;
    long options may be abbreviated to a unique prefix and take ``=value`` or the next word.
    """
    i = 1
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            return
        if not arg.startswith("-") or arg == "-":
            continue
        if arg.startswith("--"):
            letter, value, i = long_option(argv, i, arg[2:], longopts)
            yield letter, value
            continue
        pos = 1
        while pos < len(arg):
            letter = arg[pos]
            pos += 1
            index = shortopts.find(letter)
            if index < 0 or letter == ":":
                warn(f"invalid option -- '{letter}'")
                yield "?", None
            elif shortopts[index + 1:index + 2] != ":":
                yield letter, None
            elif pos < len(arg):
                yield letter, arg[pos:]
                break
            elif i < len(argv):
                i += 1
                yield letter, argv[i - 1]
                break
            else:
                warn(f"option requires an argument -- '{letter}'")
                yield "?", None


def long_option(
    argv: list[str], i: int, text: str, longopts: dict[str, tuple[bool, str]]
) -> tuple[str, str | None, int]:
    """Match ``--text`` to a long option: (letter or '?', argument, next index)."""
    name, has_value, value = text.partition("=")
    matches = [name] if name in longopts else [n for n in longopts if n.startswith(name)]
    if not matches:
        warn(f"unrecognized option '--{text}'")
        return "?", None, i
    if len(matches) > 1:
        warn(f"option '--{text}' is ambiguous; possibilities:" + "".join(f" '--{m}'" for m in matches))
        return "?", None, i
    takes_arg, letter = longopts[matches[0]]
    if not takes_arg:
        if has_value:
            warn(f"option '--{matches[0]}' doesn't allow an argument")
            return "?", None, i
        return letter, None, i
    if has_value:
        return letter, value, i
    if i < len(argv):
        return letter, argv[i], i + 1
    warn(f"option '--{matches[0]}' requires an argument")
    return "?", None, i


def string_to_uint(text: str) -> int | None:
    """strtoul-style number (decimal, 0x hex, 0 octal) fitting 32 bits, None otherwise."""
    match = NUMBER_RE.fullmatch(text)
    if not match:
        return None
    digits, base = next((match[group], base) for group, base in (("hex", 16), ("oct", 8), ("dec", 10)) if match[group])
    value = int(digits, base)
    return value if value <= 0xFFFFFFFF else None


def timeout_seconds(text: str, minimum: int) -> int:
    """A --request-timeout/--sync-timeout value, or a usage error with the real message."""
    value = string_to_uint(text) or 0
    if not minimum <= value <= TIMEOUT_MAX_S:
        print(f"Error: The timeout must be between {minimum} and {TIMEOUT_MAX_S} seconds")
        raise UsageError
    return value


def apply_option(letter: str, value: str | None, opts: Options, spec: CommandSpec, platform: Platform) -> None:
    """Act on one option as the real parser's switch does (-V and -h end the parsing)."""
    if letter in spec.flags:
        for name in spec.flags[letter]:
            setattr(opts, name, True)
    elif letter == "S":
        slot = string_to_uint(value)
        opts.slot = opts.slot if slot is None else slot
        if opts.slot is not None and opts.slot >= FPGA_SLOT_MAX:
            print(f"fpga-image-slot must be less than {FPGA_SLOT_MAX}")
            raise UsageError
    elif letter == "I":
        if len(value) >= AFI_ID_STR_MAX:
            print(f"fpga-image-id must be less than {AFI_ID_STR_MAX} bytes")
            raise UsageError
        opts.afi_id = value
    elif letter == "r":
        timeout_seconds(value, REQUEST_TIMEOUT_MIN_S)
    elif letter == "s":
        opts.sync_timeout_s = timeout_seconds(value, SYNC_TIMEOUT_MIN_S)
    elif letter in ("a", "b", "c"):
        return  # F1 clock requests (MHz): accepted, the sandbox's clocks do not change
    elif letter == "V":
        print(f"AFI Management Tools Version: {platform.tools_version}")
        print(SANDBOX_NOTE)
        raise ParserCompleted
    elif letter == "h":
        print_usage(spec.usage)
        raise ParserCompleted
    else:
        raise UsageError


OPCODES = ("LoadFpgaImage", "ClearFpgaImage", "DescribeFpgaImageSlots", "DescribeFpgaImage")


def parse_args(argv: list[str], platform: Platform) -> tuple[str, Options]:
    """The opcode and options of ``fpga-local-cmd <Opcode> [options]``."""
    opcode = next((op for op in OPCODES if len(argv) > 1 and argv[1].startswith(op)), None)
    if opcode is None:
        print_usage(OPCODE_USAGE)
        raise CliError(-errno.EINVAL)
    spec = command_specs(platform)[opcode]
    opts = Options()
    try:
        for letter, value in getopt_long(argv, spec.shortopts, spec.longopts):
            apply_option(letter, value, opts, spec, platform)
        if any(getattr(opts, name) in (None, "") for name in spec.required):
            raise UsageError
    except UsageError:
        print_usage(spec.usage)
        raise CliError(-errno.EINVAL) from None
    return opcode, opts


def print_usage(lines: tuple[str, ...]) -> None:
    """A usage text, one line each."""
    sys.stdout.write("".join(line + "\n" for line in lines))


# --------------------------------------------------------------------------- the host


@dataclass(frozen=True)
class Host:
    """This sandbox host, from host.json (no FPGA when it is missing or unreadable)."""

    run_dir: Path
    platform: Platform | None = None
    slots: int = 0
    endpoint_url: str | None = None
    region: str = "us-east-1"
    busy_s: float = DEFAULT_BUSY_S
    name: str = ""
    pci_devices: Path | None = None  # where loaded slots' PCI device files go (sandbox FPGA card)
    shells: tuple[int, ...] = ()  # the platform's shell ids (host.json), the default first

    @property
    def default_shell(self) -> int:
        """The shell a cleared slot reports (0 when host.json names none)."""
        return self.shells[0] if self.shells else 0

    @property
    def tools_platform(self) -> Platform:
        """The platform whose tools are installed (F2's on a host without FPGA)."""
        return self.platform or PLATFORMS[DEFAULT_PLATFORM]

    @property
    def has_fpga(self) -> bool:
        """Whether the host has at least one FPGA."""
        return self.platform is not None and self.slots > 0


def load_host() -> Host:
    """Read $FPGAOPS_SANDBOX_RUN/host.json."""
    run_dir = Path(os.environ.get(RUN_DIR_ENV) or DEFAULT_RUN_DIR)
    try:
        facts = json.loads((run_dir / "host.json").read_text())
        platform = PLATFORMS.get(str(facts.get("platform")).lower())
        return Host(
            run_dir=run_dir,
            platform=platform,
            slots=min(int(facts.get("fpga_slots") or 0), FPGA_SLOT_MAX) if platform else 0,
            endpoint_url=facts.get("endpoint_url"),
            region=facts.get("region") or "us-east-1",
            busy_s=float((facts.get("timings") or {}).get("fpga_busy_s", DEFAULT_BUSY_S)),
            name=str(facts.get("name") or ""),
            pci_devices=Path(card["pci_devices"]) if (card := facts.get("fpga_card")) else None,
            shells=tuple(int(str(version), 16) for version in facts.get("shells") or ()),
        )
    except (OSError, ValueError, TypeError, AttributeError):
        return Host(run_dir)


def app_device_number(host: Host, slot: int) -> int:
    """PCI device number of a slot's application PF (see the module docstring)."""
    return host.tools_platform.last_app_device - 2 * (host.slots - 1 - slot)


def app_dbdf(host: Host, slot: int) -> str:
    """The PCI address of a slot's application PF, e.g. ``0000:00:1e.0``."""
    return f"0000:00:{app_device_number(host, slot):02x}.0"


# --------------------------------------------------------------------------- the card's PCI device


def card_request(host: Host, method: str, path: str, body: dict | None = None,
                 timeout_s: float = ENDPOINT_TIMEOUT_S) -> dict | None:
    """Ask the endpoint's FPGA card stand-in (``/_sandbox/...``); None when it cannot answer."""
    if not host.endpoint_url:
        return None
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(host.endpoint_url.rstrip("/") + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout_s) as response:
            return json.load(response)
    except (OSError, ValueError):
        return None


def design_state(host: Host, afi: "Afi") -> str:
    """Ask the card to prepare the AFI's design: ``preparing`` while it works, else its final state."""
    query = urllib.parse.urlencode({"region": host.region})
    answer = card_request(host, "POST", f"/_sandbox/fpga-designs/{afi.id}?{query}")
    return str(answer.get("state")) if answer else "unavailable"


def remove_device(host: Host, slot: int) -> None:
    """The slot's application PF goes away (a load or clear begins): files, and the card's mapping."""
    if host.pci_devices is None:
        return
    shutil.rmtree(host.pci_devices / app_dbdf(host, slot), ignore_errors=True)
    card_request(host, "DELETE", f"/_sandbox/fpga-cards/{host.name}/{slot}")


def add_device(host: Host, slot: int, afi: "Afi") -> None:
    """The loaded AFI's application PF appears: sysfs-like files, udev's rules, then the card serves BAR0.

    resource0 starts as all ones (a BAR whose design does not answer) until the card initialises it.
    """
    if host.pci_devices is None:
        return
    dbdf = app_dbdf(host, slot)
    partial = Path(tempfile.mkdtemp(prefix=f".{dbdf}.", dir=host.pci_devices))
    os.chmod(partial, 0o755)
    for name, text in (("vendor", f"0x{afi.vendor_id:04x}"), ("device", f"0x{afi.device_id:04x}"),
                       ("class", MEMORY_CONTROLLER_CLASS)):
        (partial / name).write_text(text + "\n")
        os.chmod(partial / name, 0o444)
    fd = os.open(partial / "resource0", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, b"\xff" * BAR0_BYTES)
    finally:
        os.close(fd)
    shutil.rmtree(host.pci_devices / dbdf, ignore_errors=True)
    os.rename(partial, host.pci_devices / dbdf)
    run_udev_rules(dbdf)
    card_request(host, "PUT", f"/_sandbox/fpga-cards/{host.name}/{slot}",
                 {"agfi": afi.id, "region": host.region, "dbdf": dbdf}, timeout_s=CARD_ATTACH_TIMEOUT_S)


def run_udev_rules(dbdf: str) -> None:
    """Run, once each, the RUN commands of the udev rules that match the device (ACTION add or any)."""
    commands: list[str] = []
    for rules in sorted(UDEV_RULES_DIR.glob("*.rules")):
        try:
            lines = rules.read_text(errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            match = UDEV_RULE_RE.search(line)
            if match and match["dbdf"] == dbdf and match["action"] in (None, "add") \
                    and match["run"] not in commands:
                commands.append(match["run"])
    for command in commands:
        subprocess.run(command, shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)


# --------------------------------------------------------------------------- slot state


@dataclass(frozen=True)
class Afi:
    """An AFI as loaded: its global id and the PCI ids its application PF shows."""

    id: str
    vendor_id: int
    device_id: int
    shell_version: int = 0  # the shell it was built on (0: not known, stored by an earlier stand-in)


@dataclass(frozen=True)
class SlotState:
    """One FPGA slot.  While busy, ``target`` is the AFI being loaded (None: a clear)."""

    status: int = CLEARED
    afi: Afi | None = None
    target: Afi | None = None
    until: float = 0.0
    cached: tuple[str, ...] = ()

    def settled(self, now: float) -> "SlotState":
        """The state once a finished load or clear is accounted for."""
        if self.status != BUSY or now < self.until:
            return self
        if self.target is None:
            return SlotState(CLEARED, cached=self.cached)
        return SlotState(LOADED, self.target, cached=with_cached(self.cached, self.target.id))

    def to_json(self) -> dict:
        """The state as stored."""
        return {"status": self.status, "afi": afi_json(self.afi), "target": afi_json(self.target),
                "until": self.until, "cached": list(self.cached)}

    @classmethod
    def from_json(cls, data: dict) -> "SlotState":
        """The state as stored (see to_json)."""
        return cls(int(data["status"]), afi_from_json(data.get("afi")), afi_from_json(data.get("target")),
                   float(data.get("until", 0.0)), tuple(data.get("cached", ())))


def afi_json(afi: Afi | None) -> dict | None:
    """An Afi as stored."""
    return None if afi is None else {"id": afi.id, "vendor_id": afi.vendor_id, "device_id": afi.device_id,
                                     "shell_version": afi.shell_version}


def afi_from_json(data: dict | None) -> Afi | None:
    """An Afi as stored (see afi_json)."""
    return None if data is None else Afi(data["id"], int(data["vendor_id"]), int(data["device_id"]),
                                         int(data.get("shell_version", 0)))


def with_cached(cached: tuple[str, ...], agfi_id: str) -> tuple[str, ...]:
    """The AFI cache with ``agfi_id`` as its newest entry."""
    return (*(c for c in cached if c != agfi_id), agfi_id)[-CACHED_AGFIS_MAX:]


class SlotStore:
    """The slots' state files under $FPGAOPS_SANDBOX_RUN/fpga (root only, lost on stop)."""

    def __init__(self, host: Host) -> None:
        self.dir = host.run_dir / "fpga"
        self.host = host

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock (one for all slots: operations are short)."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def current(self, slot: int) -> SlotState:
        """A slot's state now, saving it when a load or clear has finished (hold the lock)."""
        path = self.dir / f"slot{slot}.json"
        try:
            stored = SlotState.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError, TypeError):
            stored = SlotState()
        now = time.time()
        state = stored.settled(now)
        if state != stored and state.status == LOADED and self.host.pci_devices is not None:
            if design_state(self.host, state.afi) == "preparing":  # the load lasts until the card is ready
                state = replace(stored, until=now + DESIGN_POLL_S)
            else:
                add_device(self.host, slot, state.afi)
        if state != stored:
            self.save(slot, state)
        return state

    def save(self, slot: int, state: SlotState) -> None:
        """Replace a slot's state file atomically (hold the lock)."""
        with tempfile.NamedTemporaryFile("w", dir=self.dir, prefix=f".slot{slot}.", delete=False) as tmp:
            json.dump(state.to_json(), tmp)
        os.replace(tmp.name, self.dir / f"slot{slot}.json")


# --------------------------------------------------------------------------- output


def afi_line(host: Host, slot: int, state: SlotState) -> str:
    """The AFI line of fpga-describe-local-image (printf formats of fpga_local_cmd.c)."""
    platform = host.tools_platform
    shown = state.target if state.status == BUSY else state.afi
    afi_id = shown.id if shown else platform.empty_slot_label
    shell = state.afi.shell_version if state.afi and state.afi.shell_version else host.default_shell
    return AFI_FMT % ("AFI", slot, afi_id, STATUS_NAMES[state.status], state.status,
                      ERROR_NAMES[ERR_OK], ERR_OK, shell)


def device_line(slot: int, vendor_id: int, device_id: int, device_number: int) -> str:
    """An AFIDEVICE line (bus 0, function 0)."""
    return DEVICE_FMT % ("AFIDEVICE", slot, vendor_id, device_id, 0, 0, device_number, 0)


def device_lines(host: Host, slot: int, state: SlotState, opts: Options) -> list[str]:
    """The slot's PCI functions: application PF, and the mailbox PF with -M (slots listing)."""
    platform = host.tools_platform
    number = app_device_number(host, slot)
    vendor_id, device_id = (state.afi.vendor_id, state.afi.device_id) if state.afi else (
        VENDOR_ID, platform.cleared_device_id)
    lines = [DEVICE_HEADER] if opts.headers else []
    lines.append(device_line(slot, vendor_id, device_id, number))
    if opts.show_mbox:
        lines.append(device_line(slot, VENDOR_ID, platform.mbox_device_id, number + 1))
    return lines


PAP_ERRORS = ("4K-cross", "bus-master-enable", "request-size", "write-incomplete",
              "first-byte-enable", "last-byte-enable", "bready", "rready", "wchannel")


def f1_metrics(loaded: bool) -> list[str]:
    """print_f1_metrics of the F1 tools: no errors, no traffic, default clock recipes."""
    flags = ("sdacl-slave-timeout", "virtual-jtag-slave-timeout", "ocl-slave-timeout", "bar1-slave-timeout",
             "dma-pcis-timeout", "pcim-range-error", "pcim-axi-protocol-error", "dma-range-error")
    counted = ("sdacl-slave-timeout", "virtual-jtag-slave-timeout", "ocl-slave-timeout", "bar1-slave-timeout",
               "dma-pcis-timeout", "pcim-range-error", "pcim-axi-protocol-error")
    clocks = ((125, 62, 187, 250), (250, 125), (300, 400)) if loaded else ((0, 0, 0, 0), (0, 0), (0, 0))
    lines = [f"{name}=0" for name in flags]
    lines += [f"pcim-axi-protocol-{name}-error=0" for name in PAP_ERRORS]
    for name in counted:
        lines += [f"{name}-addr=0x0", f"{name}-count=0"]
    lines += ["pcim-write-count=0", "pcim-read-count=0", *ddr_lines(4)]
    for group, freqs in zip("ABC", clocks, strict=True):
        lines += [f"Clock Group {group} Frequency (Mhz)", "".join(f"{f}  " for f in freqs)]
    return lines


def f2_metrics() -> list[str]:
    """print_f2_metrics of the F2 tools: no errors, no traffic."""
    flags = ("virtual-jtag-slave-timeout", "ocl-slave-timeout", "sda-slave-timeout", "dma-pcis-timeout",
             "pcim-range-error", "pcim-axi-protocol-error", "dma-range-error")
    counted = ("pcim-range-error", "pcim-axi-protocol-error")
    lines = [f"{name}=0" for name in flags]
    lines += [f"pcim-axi-protocol-{name}-error=0" for name in PAP_ERRORS]
    for name in counted:
        lines += [f"{name}-addr=0x0", f"{name}-count=0"]
    lines += ["pcim-write-count=0", "pcim-read-count=0"]
    for name in ("dma-pcis-timeout", "ocl-slave-timeout", "sda-slave-timeout", "virtual-jtag-slave-timeout"):
        lines += [f"{name}-addr=0x0", f"{name}-count=0"]
    return [*lines, "virtual-jtag-slave-write-count=0", "virtual-jtag-slave-read-count=0", *ddr_lines(1)]


def ddr_lines(count: int) -> list[str]:
    """The DDR interfaces' (idle) counters."""
    return [line for i in range(count) for line in (f"DDR{i}", "   write-count=0", "   read-count=0")]


def metrics_lines(host: Host, state: SlotState, opts: Options) -> list[str]:
    """The -M block: error flags and counters, clocks (F1), power, cached AFIs."""
    loaded = state.status == LOADED
    lines = ["Metrics"] if opts.headers else []
    lines += f1_metrics(loaded) if host.tools_platform.is_f1 else f2_metrics()
    power = (12, 11, 13) if loaded else (0, 0, 0)
    lines += ["Power consumption (Vccint):", f"   Last measured: {power[0]} watts",
              f"   Average: {power[1]} watts", f"   Max measured: {power[2]} watts", "Cached agfis:"]
    return lines + [f"   {agfi_id}" for agfi_id in state.cached]


def show_image_info(host: Host, slot: int, state: SlotState, opts: Options) -> None:
    """cli_show_image_info: AFI line, device line, metrics with -M."""
    lines = [AFI_HEADER] if opts.headers else []
    lines.append(afi_line(host, slot, state))
    lines += device_lines(host, slot, state, replace(opts, show_mbox=False))
    if opts.metrics:
        lines += metrics_lines(host, state, opts)
    sys.stdout.write("".join(line + "\n" for line in lines))


# --------------------------------------------------------------------------- the AFI catalogue


def lookup_afi(host: Host, agfi_id: str) -> Afi:
    """The AFI an AGFI id names, if this host may load it; invalid-afi-id otherwise.

    Loadable: a well-formed ``agfi-`` id that the endpoint knows, ``available``, built on one of this
    host's shells.  Anything else (unknown, pending, failed, other platform, endpoint down, an
    ``afi-`` regional id) is what the real tools report as invalid-afi-id.
    """
    if not AGFI_RE.fullmatch(agfi_id) or not host.endpoint_url:
        raise CliError(ERR_AFI_ID_INVALID)
    url = "{}/_sandbox/fpga-images/{}?{}".format(
        host.endpoint_url.rstrip("/"), urllib.parse.quote(agfi_id), urllib.parse.urlencode({"region": host.region}))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=ENDPOINT_TIMEOUT_S) as response:
            image = json.load(response)
        pci = image["PciId"]
        shell = int(image["ShellVersion"], 16)
        loadable = (image["FpgaImageGlobalId"] == agfi_id and image["State"]["Code"] == "available"
                    and shell in host.shells)
        afi = Afi(agfi_id, int(pci.get("VendorId", hex(VENDOR_ID)), 16), int(pci["DeviceId"], 16), shell)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # URLError is an OSError
        raise CliError(ERR_AFI_ID_INVALID) from None
    if not loadable:
        raise CliError(ERR_AFI_ID_INVALID)
    return afi


# --------------------------------------------------------------------------- commands


def checked_slot(host: Host, opts: Options) -> int:
    """The slot asked for, if the host has it."""
    if not host.has_fpga:
        raise CliError(ERR_PCI_MISSING)
    if opts.slot >= host.slots:
        raise CliError(-errno.ENOENT)
    return opts.slot


def start(store: SlotStore, slot: int, host: Host, target: Afi | None) -> None:
    """Begin a load (target) or clear (None): busy for the host's fpga_busy_s."""
    with store.locked():
        state = store.current(slot)
        if state.status == BUSY:
            raise CliError(ERR_BUSY)
        store.save(slot, replace(state, status=BUSY, target=target, until=time.time() + host.busy_s))
        remove_device(host, slot)
    if target is not None and host.pci_devices is not None:
        design_state(host, target)  # the card fetches and builds the design while the slot is busy


def wait_done(store: SlotStore, slot: int, opts: Options) -> SlotState:
    """Poll the slot until it is no longer busy, as the synchronous API does."""
    deadline = time.monotonic() + max(opts.sync_timeout_s, SYNC_TIMEOUT_MIN_S)
    while True:
        with store.locked():
            state = store.current(slot)
        if state.status != BUSY:
            return state
        if time.monotonic() >= deadline:
            raise CliError(-errno.ETIMEDOUT)
        time.sleep(max(0.01, min(state.until - time.time(), deadline - time.monotonic())))


def cmd_load(host: Host, opts: Options) -> None:
    """fpga-load-local-image: sync prints the slot once loaded; -A/-P print nothing."""
    slot = checked_slot(host, opts)
    store = SlotStore(host)
    with store.locked():
        if store.current(slot).status == BUSY:
            raise CliError(ERR_BUSY)
    afi = lookup_afi(host, opts.afi_id)
    if opts.prefetch:
        with store.locked():
            state = store.current(slot)
            store.save(slot, replace(state, cached=with_cached(state.cached, afi.id)))
        if host.pci_devices is not None:
            design_state(host, afi)  # the card caches the design as well
        return
    start(store, slot, host, afi)
    if not opts.async_:
        state = wait_done(store, slot, opts)
        if state.status != LOADED or state.afi != afi:
            raise CliError(ERR_FAIL)
        show_image_info(host, slot, state, opts)


def cmd_clear(host: Host, opts: Options) -> None:
    """fpga-clear-local-image: sync prints the slot once cleared; -A prints nothing."""
    slot = checked_slot(host, opts)
    store = SlotStore(host)
    start(store, slot, host, None)
    if not opts.async_:
        state = wait_done(store, slot, opts)
        if state.status != CLEARED:
            raise CliError(ERR_FAIL)
        show_image_info(host, slot, state, opts)


def cmd_describe(host: Host, opts: Options) -> None:
    """fpga-describe-local-image (-L clears the AFI cache after showing it)."""
    slot = checked_slot(host, opts)
    store = SlotStore(host)
    with store.locked():
        state = store.current(slot)
        if opts.clear_cache:
            store.save(slot, replace(state, cached=()))
    show_image_info(host, slot, state, opts)


def cmd_describe_slots(host: Host, opts: Options) -> None:
    """fpga-describe-local-image-slots: each slot's PCI functions; nothing without FPGA."""
    if not host.has_fpga:
        return
    store = SlotStore(host)
    with store.locked():
        states = [store.current(slot) for slot in range(host.slots)]
    lines = [line for slot, state in enumerate(states) for line in device_lines(host, slot, state, opts)]
    sys.stdout.write("".join(line + "\n" for line in lines))


COMMANDS = {
    "LoadFpgaImage": cmd_load,
    "ClearFpgaImage": cmd_clear,
    "DescribeFpgaImage": cmd_describe,
    "DescribeFpgaImageSlots": cmd_describe_slots,
}


def run(argv: list[str]) -> None:
    """Root check (before anything, even -h), parse, act; failures raise CliError."""
    if os.geteuid() != 0:
        print("Error: Please prefix the command with 'sudo' or login as root")
        raise CliError(-errno.EACCES)
    host = load_host()
    opcode, opts = parse_args(argv, host.tools_platform)
    COMMANDS[opcode](host, opts)


def strerror(code: int) -> str:
    """fpga_mgmt_strerror: errno text for negative codes, the FPGA error name otherwise."""
    return os.strerror(-code) if code < 0 else ERROR_NAMES.get(code, "internal-error")


def main(argv: list[str]) -> int:
    """Run the command; print ``Error: (code) name`` and its help on failure."""
    try:
        run(argv)
    except ParserCompleted:
        return -errno.EINVAL & 0xFF
    except CliError as failure:
        print(f"Error: ({failure.code}) {strerror(failure.code)}")
        sys.stdout.write(LONG_HELP.get(failure.code, ""))
        return failure.code & 0xFF
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
