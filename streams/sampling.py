"""Which packets to decode and which decoded frames to hand over.

The split matters for cost: a packet that is never sent to the decoder costs nothing, a frame
that is decoded but not handed over costs the decode but not the colour conversion. Inter-coded
streams (H.264, H.265) must decode every frame to decode any non-keyframe; intra-only streams
(MJPEG, raw video) and keyframe sampling can skip packets outright.
"""

from __future__ import annotations

from streams.settings import SamplingConfig


class Sampler:
    """Applies a :class:`SamplingConfig` to one stream, packet by packet and frame by frame.

    Example:
        >>> sampler = Sampler(SamplingConfig(mode="every_n", n=5), intra_only=False)
        >>> sampler.keep_packet(index=3, time=0.12, is_keyframe=False)   # must decode anyway
        True
        >>> sampler.keep_frame(index=3, time=0.12)
        False
    """

    def __init__(self, config: SamplingConfig, *, intra_only: bool) -> None:
        self.config = config
        self.intra_only = intra_only
        self._next_due: float | None = None

    @property
    def decodes_every_packet(self) -> bool:
        """True when every packet must go through the decoder (the expensive path)."""
        return self.config.mode != "keyframes" and not self.intra_only

    def keep_packet(self, *, index: int, time: float | None, is_keyframe: bool) -> bool:
        """Whether to send packet number ``index`` (at ``time`` seconds) to the decoder."""
        if self.config.mode == "keyframes":
            return is_keyframe
        if not self.intra_only:
            return True
        return self._select(index, time)

    def keep_frame(self, *, index: int, time: float | None) -> bool:
        """Whether to convert and hand over decoded frame number ``index``."""
        if self.config.mode == "keyframes" or self.intra_only:
            return True  # already chosen at the packet
        return self._select(index, time)

    def _select(self, index: int, time: float | None) -> bool:
        if self.config.mode == "every_n":
            assert self.config.n is not None
            return index % self.config.n == 0
        assert self.config.fps is not None
        if time is None:
            return False
        period = 1.0 / self.config.fps
        if self._next_due is None or time >= self._next_due - 1e-6:
            # Keep the grid (no drift) unless we fell behind by more than a period.
            due = self._next_due
            on_grid = due is not None and time - due < period
            self._next_due = due + period if on_grid else time + period
            return True
        return False
