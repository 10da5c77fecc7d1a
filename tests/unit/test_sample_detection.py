"""The deploy flow's last step: the click track it sends, and what it says when the answer is not a detection."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile

from fpgaops.connection import Result
from fpgaops.inventory import Inventory
from roles.deploy import click_track_wav, sample_detection
from roles.flow import FlowStopped


def test_the_click_track_is_a_wav_with_a_click_every_half_second():
    audio, rate = soundfile.read(io.BytesIO(click_track_wav()))
    assert rate == 22050 and len(audio) == 6 * rate
    loud = np.flatnonzero(np.abs(audio) > 0.5)
    onsets = loud[np.insert(np.diff(loud) > rate // 10, 0, True)] / rate
    assert np.allclose(onsets, np.arange(0.5, 6, 0.5), atol=0.005)


class FakeFlow:
    """The parts of a Flow the step uses: the FPGA hosts, a connection answering ``reply``, what it says."""

    def __init__(self, reply: Result) -> None:
        self.inventory = Inventory.from_dict({"all": {"children": {"f1": {"hosts": {"f1-a": {}}}}}})
        self.reply = reply
        self.sent: list[tuple[str, bytes]] = []
        self.said: list[str] = []

    def hosts(self, group: str):
        return self.inventory.group_hosts(group)

    def connection(self, host):
        flow = self

        class Connection:
            def run(self, shell: str, stdin: bytes | None = None) -> Result:
                flow.sent.append((shell, stdin))
                return flow.reply

        return Connection()

    def say(self, message: str, style: str = "bold") -> None:
        self.said.append(message)


def test_a_detection_is_shown_with_its_backend_tempo_and_beats():
    answer = {"backend": "fpga", "tempo": 120.2, "beats": [0.5, 1.0], "timings_ms": {"total": 12.0}, "extra": 1}
    flow = FakeFlow(Result(json.dumps(answer) + "\n200", "", 0))
    sample_detection(flow)
    (shell, stdin), = flow.sent
    assert "detection_ready" in shell and "/api/detect-beats" in shell and stdin == click_track_wav()
    assert flow.said == ['sample detection on f1-a (clicks at 120 BPM): {"backend": "fpga", "tempo": 120.2, '
                         '"beats": [0.5, 1.0], "timings_ms": {"total": 12.0}}']


@pytest.mark.parametrize("reply, message", [
    (Result("<html>Internal Server Error</html>\n500", "", 0), "HTTP 500: <html>Internal Server Error</html>"),
    (Result("not json\n200", "", 0), "HTTP 200: not json"),
    (Result("", "not ready after 180 s\n", 1), "not ready after 180 s"),
])
def test_an_answer_that_is_not_a_detection_stops_the_flow_saying_why(reply, message):
    with pytest.raises(FlowStopped, match=f"f1-a: the sample detection failed: {message}"):
        sample_detection(FakeFlow(reply))
