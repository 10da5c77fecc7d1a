"""Operations: desired states as keyword arguments, planned from facts into the Change that closes the gap.

One module per area: files, packages, users, venv, systemd, cron, commands, archives, jobs,
waits.  Each public function returns a ``core.Operation`` (facts to read + a pure ``plan``);
``plan`` returns None when the host is already right, so a rerun runs nothing.  Commands are
POSIX sh with every argument quoted, and run as root unless said otherwise; every write goes to
a temporary name in the target's directory and is renamed into place with explicit owner and mode.
"""
