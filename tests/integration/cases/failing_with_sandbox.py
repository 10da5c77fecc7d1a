"""Run only by test_cleanup_on_failure.py: a test that fails while a sandbox is up."""


def test_fails_with_a_sandbox_up(sandbox):
    assert sandbox.is_saved()
    raise AssertionError("deliberate failure")
