"""Draw any recording as a review video: a flight with :func:`~spikefly.envs.render.flight.render_flight`,
a clip with :func:`~spikefly.envs.render.clip.render_listening`."""

from __future__ import annotations

import os

from spikefly.envs.render.recording import FlightRecording, ListeningRecording
from spikefly.envs.render.video import RenderStats


def render_recording(recording: FlightRecording | ListeningRecording, path: str | os.PathLike[str], width: int = 640,
                     height: int = 480, *, progress: bool = False, renderer: str = "auto", audio: bool = True) -> RenderStats:
    """Write the review video of ``recording`` to ``path`` (.mp4 or .gif).

    ``renderer`` (flights): the chase camera's PyBullet renderer, "auto", "egl" or "tiny";
    ``audio`` (clips): the clip as the sound track of an .mp4.
    """
    if isinstance(recording, FlightRecording):
        from spikefly.envs.render.flight import render_flight

        return render_flight(recording, path, width, height, progress=progress, renderer=renderer)
    from spikefly.envs.render.clip import render_listening

    return render_listening(recording, path, width, height, progress=progress, audio=audio)
