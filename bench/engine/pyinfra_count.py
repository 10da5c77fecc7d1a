"""Count pyinfra's remote commands and file transfers per host (installed into pyinfra's venv only).

``run.py`` copies this file into the pyinfra venv's site-packages as ``fpgaops_bench_count.py``
with a ``.pth`` line importing it at interpreter start.  When ``FPGAOPS_BENCH_COUNT_LOG`` names a
file, every ``paramiko.SSHClient.exec_command`` (one SSH exec request: a remote command) and every
``paramiko.SFTPClient.putfo`` (a file transfer) appends one line ``exec|put <peer address>`` to it.

paramiko is patched when pyinfra imports it, not before: pyinfra monkey-patches the standard
library with gevent first, and importing paramiko earlier would change what it patches.
"""

import importlib.abc
import importlib.machinery
import os
import sys

LOG = os.environ.get("FPGAOPS_BENCH_COUNT_LOG")


def _record(kind, transport):
    try:
        peer = transport.getpeername()[0]
    except Exception:  # a transport already gone: still count the call
        peer = "?"
    with open(LOG, "a") as stream:
        stream.write(f"{kind} {peer}\n")


def _patch_client(module):
    original = module.SSHClient.exec_command

    def exec_command(self, command, *args, **kwargs):
        _record("exec", self.get_transport())
        return original(self, command, *args, **kwargs)

    module.SSHClient.exec_command = exec_command


def _patch_sftp(module):
    original = module.SFTPClient.putfo

    def putfo(self, fl, remotepath, *args, **kwargs):
        _record("put", self.sock.get_transport())
        return original(self, fl, remotepath, *args, **kwargs)

    module.SFTPClient.putfo = putfo


PATCHES = {"paramiko.client": _patch_client, "paramiko.sftp_client": _patch_sftp}


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Find the modules to patch as usual, and patch them right after they are executed."""

    def find_spec(self, name, path, target=None):
        patch = PATCHES.get(name)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            patch(module)

        spec.loader.exec_module = exec_module
        return spec


if LOG:
    sys.meta_path.insert(0, _PatchOnImport())
