"""The one base class of the sandbox's expected failures: each message says what to do."""


class SandboxError(RuntimeError):
    """The sandbox cannot do what was asked; the message says why and what to do."""
