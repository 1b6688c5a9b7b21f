"""People drawn from a small skeleton: standing, walking, sitting on a stool, crouching."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.synth.canvas import Canvas, Color, Point

POSES = ("standing", "walking", "sitting", "crouching")
SKIN = [(150, 180, 215), (120, 155, 195), (95, 125, 165), (170, 195, 225)]
CLOTHES = [
    (40, 40, 40),
    (200, 200, 200),
    (150, 60, 30),
    (40, 60, 140),
    (30, 110, 40),
    (20, 20, 160),
    (120, 120, 120),
    (60, 90, 120),
    (0, 140, 230),
    (170, 110, 60),
    (90, 60, 60),
    (30, 160, 180),
    (210, 190, 150),
    (60, 40, 100),
    (230, 230, 230),
    (20, 60, 20),
]

# Joint positions in units of standing height, x forward (the facing direction), y up from feet.
_SKELETONS: dict[str, dict[str, tuple[float, float]]] = {
    "standing": {
        "hip": (0, 0.50),
        "knee_a": (0.02, 0.27),
        "foot_a": (0.03, 0.02),
        "knee_b": (-0.02, 0.27),
        "foot_b": (-0.03, 0.02),
        "shoulder": (0, 0.80),
        "head": (0.01, 0.92),
    },
    "sitting": {
        "hip": (-0.04, 0.27),
        "knee_a": (0.18, 0.31),
        "foot_a": (0.19, 0.02),
        "knee_b": (0.16, 0.30),
        "foot_b": (0.15, 0.02),
        "shoulder": (0.02, 0.57),
        "head": (0.05, 0.69),
    },
    "crouching": {
        "hip": (-0.06, 0.24),
        "knee_a": (0.12, 0.30),
        "foot_a": (0.04, 0.02),
        "knee_b": (0.10, 0.28),
        "foot_b": (-0.02, 0.02),
        "shoulder": (0.06, 0.52),
        "head": (0.10, 0.63),
    },
}
_ARMS = {  # elbow, hand relative to the shoulder
    "down": ((0.02, -0.16), (0.03, -0.31)),
    "forward": ((0.10, -0.12), (0.22, -0.10)),
    "up": ((0.08, -0.06), (0.09, 0.10)),
    "carry": ((0.06, -0.14), (0.13, -0.18)),
}


@dataclass
class Person:
    """A person to draw; ``height`` is the standing height in pixels at foot row ``foot[1]``."""

    foot: Point
    height: float
    pose: str = "standing"
    facing: int = 1  # +1 right, -1 left, 0 towards the camera
    walk_phase: float = 0.0
    arm: str = "down"
    shirt: Color = (40, 60, 140)
    trousers: Color = (40, 40, 40)
    skin: Color = (150, 180, 215)
    hat: str | None = None
    build: float = 1.0
    joints: dict[str, Point] = field(default_factory=dict)

    @classmethod
    def random(
        cls,
        rng: np.random.Generator,
        foot: Point,
        height: float,
        pose: str | None = None,
        arm: str = "down",
    ) -> Person:
        idx = rng.choice(len(CLOTHES), 2, replace=False)
        return cls(
            foot=foot,
            height=height,
            pose=pose or str(rng.choice(POSES)),
            facing=int(rng.choice([-1, 1, 1, -1, 0]))
            if arm == "down"
            else int(rng.choice([-1, 1])),
            walk_phase=float(rng.uniform(0, 2 * np.pi)),
            arm=arm,
            shirt=CLOTHES[idx[0]],
            trousers=CLOTHES[idx[1]],
            skin=SKIN[rng.integers(len(SKIN))],
            hat=rng.choice([None, None, "cap", "conical", "hood"]),
            build=float(rng.uniform(0.8, 1.3)),
        )

    def _skeleton(self) -> dict[str, tuple[float, float]]:
        if self.pose == "walking":
            s = np.sin(self.walk_phase)
            return {
                "hip": (0, 0.50),
                "knee_a": (0.09 * s, 0.27),
                "foot_a": (0.16 * s, 0.02),
                "knee_b": (-0.05 * s, 0.27),
                "foot_b": (-0.16 * s, 0.02),
                "shoulder": (0.02, 0.80),
                "head": (0.03, 0.92),
            }
        return _SKELETONS[self.pose]

    def _to_px(self, p: tuple[float, float]) -> Point:
        direction = self.facing if self.facing else 0.35
        return (self.foot[0] + p[0] * self.height * direction, self.foot[1] - p[1] * self.height)

    def hand(self) -> Point:
        """Where the leading hand is (a rod, umbrella or stick is held there)."""
        sk = self._skeleton()
        shoulder = sk["shoulder"]
        _, hand = _ARMS[self.arm]
        return self._to_px((shoulder[0] + hand[0], shoulder[1] + hand[1]))

    def draw(self, canvas: Canvas, owner: int) -> None:
        sk = self._skeleton()
        px = {k: self._to_px(v) for k, v in sk.items()}
        h = self.height
        leg_w = max(1.0, 0.075 * h * self.build)
        for side in ("b", "a"):
            canvas.line(px["hip"], px[f"knee_{side}"], leg_w, self.trousers, owner)
            canvas.line(px[f"knee_{side}"], px[f"foot_{side}"], leg_w * 0.9, self.trousers, owner)
            foot = px[f"foot_{side}"]
            shoe_dx = 0.05 * h * (self.facing or 0.2)
            canvas.line(foot, (foot[0] + shoe_dx, foot[1]), leg_w * 0.8, (30, 30, 30), owner)
        half = (0.11 if self.facing == 0 else 0.07) * h * self.build
        hip, sh = px["hip"], px["shoulder"]
        torso = np.array(
            [
                (hip[0] - half * 0.9, hip[1] + 0.03 * h),
                (hip[0] + half * 0.9, hip[1] + 0.03 * h),
                (sh[0] + half, sh[1]),
                (sh[0] - half, sh[1]),
            ]
        )
        canvas.polygon(torso, self.shirt, owner)
        # Arms: the far one down, the leading one per ``arm``.
        arm_w = max(1.0, 0.05 * h * self.build)
        shoulder = sk["shoulder"]
        for name in ("down", self.arm):
            elbow_o, hand_o = _ARMS[name]
            elbow = self._to_px((shoulder[0] + elbow_o[0], shoulder[1] + elbow_o[1]))
            hand = self._to_px((shoulder[0] + hand_o[0], shoulder[1] + hand_o[1]))
            canvas.line(sh, elbow, arm_w, self.shirt, owner)
            canvas.line(elbow, hand, arm_w * 0.9, self.shirt, owner)
            canvas.circle(hand, arm_w * 0.55, self.skin, owner)
        head = px["head"]
        r = 0.065 * h
        canvas.line(sh, head, arm_w, self.skin, owner)
        canvas.circle(head, r, self.skin, owner)
        hair = (25, 25, 30)
        if self.facing:
            canvas.ellipse(
                (head[0] - 0.3 * r * self.facing, head[1] - 0.2 * r),
                (r * 0.85, r * 0.8),
                0,
                hair,
                owner,
            )
        else:
            canvas.ellipse((head[0], head[1] - 0.45 * r), (r, r * 0.6), 0, hair, owner)
        if self.hat == "cap":
            canvas.ellipse(
                (head[0], head[1] - 0.5 * r),
                (r * 1.05, r * 0.6),
                0,
                self.shirt,
                owner,
                start=180,
                end=360,
            )
            canvas.line(
                (head[0], head[1] - 0.45 * r),
                (head[0] + 1.5 * r * (self.facing or 0.3), head[1] - 0.45 * r),
                max(1, 0.25 * r),
                self.shirt,
                owner,
            )
        elif self.hat == "conical":  # 斗笠
            canvas.polygon(
                np.array(
                    [
                        (head[0] - 2.0 * r, head[1] - 0.3 * r),
                        (head[0] + 2.0 * r, head[1] - 0.3 * r),
                        (head[0], head[1] - 1.6 * r),
                    ]
                ),
                (110, 170, 200),
                owner,
            )
        elif self.hat == "hood":
            canvas.ellipse(
                (head[0], head[1] - 0.1 * r),
                (r * 1.15, r * 1.15),
                0,
                self.shirt,
                owner,
                start=160,
                end=380,
            )


def draw_stool(canvas: Canvas, person: Person) -> None:
    """A small folding stool under a sitting person (scenery, not labelled)."""
    h = person.height
    hip = person._to_px((-0.04, 0.25))
    colour = (40, 40, 120)
    canvas.line((hip[0] - 0.08 * h, hip[1]), (hip[0] + 0.08 * h, hip[1]), max(1, 0.03 * h), colour)
    canvas.line(
        (hip[0] - 0.07 * h, hip[1]), (hip[0] + 0.07 * h, person.foot[1]), max(1, 0.015 * h), colour
    )
    canvas.line(
        (hip[0] + 0.07 * h, hip[1]), (hip[0] - 0.07 * h, person.foot[1]), max(1, 0.015 * h), colour
    )
