"""Write the door's three outcome sounds as 16-bit mono WAVs with the standard library only.

Run: ``.venv/bin/python resources/sounds/make_sounds.py``. Distinct by pitch *and* rhythm, so
they are told apart in a loud hall and by people who do not hear pitch well:
admit = a short rising two-note chime; already used = two equal mid beeps; refuse = one long low
buzz (a square-ish wave, harsher on purpose).
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22_050
HERE = Path(__file__).parent


def tone(freq: float, seconds: float, volume: float = 0.6, harsh: bool = False) -> list[float]:
    n = int(RATE * seconds)
    fade = int(RATE * 0.01)  # 10 ms ramps: no clicks
    out = []
    for i in range(n):
        x = math.sin(2 * math.pi * freq * i / RATE)
        if harsh:  # odd harmonics: a buzz, not a beep
            x += (
                math.sin(6 * math.pi * freq * i / RATE) / 3
                + math.sin(10 * math.pi * freq * i / RATE) / 5
            )
            x *= 0.7
        ramp = min(1.0, i / fade, (n - 1 - i) / fade) if fade else 1.0
        out.append(x * volume * ramp)
    return out


def silence(seconds: float) -> list[float]:
    return [0.0] * int(RATE * seconds)


SOUNDS = {
    "admit": tone(880, 0.09) + silence(0.02) + tone(1320, 0.16),
    "used": tone(660, 0.12) + silence(0.08) + tone(660, 0.12),
    "refuse": tone(196, 0.55, volume=0.7, harsh=True),
}


def write(name: str, samples: list[float]) -> Path:
    path = HERE / f"{name}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(
            b"".join(struct.pack("<h", int(max(-1, min(1, s)) * 32767)) for s in samples)
        )
    return path


def main() -> int:
    for name, samples in SOUNDS.items():
        print(write(name, samples))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
