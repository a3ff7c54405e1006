"""``make demo``: a newcomer sees green, orange and red within a minute.

1. A throwaway sync server (SQLite in ``.demo/server``) with the demo dance weekend.
2. Two paired doors: "Side door" admits one ticket and syncs, so the server knows it is used;
   the "Main entrance" door (``.demo/door``) then downloads the ticket list.
3. Stand-in camera frames (``.demo/camera``): real QR codes on a phone-like screen, a line of
   guests as a door sees it (:func:`guest_line`): mostly fresh tickets (green), now and then a
   guest who comes back and shows the ticket again (orange, already used at this door), the
   ticket used at the side door (orange) and a forged one (red). The line is long (about
   :data:`GUESTS` tickets, 4 s each) so the camera does not loop back to tickets it already
   admitted within minutes; after a loop every ticket is truthfully "already used".
4. With a display, the door window opens on those frames; without one, the head of the line
   (:data:`HEADLESS`) goes through the headless ``scanner-app check --image`` and each verdict
   is printed.
5. Card payments with a local stand-in for Stripe (``tests/fake_stripe`` as a subprocess, no
   Stripe account needed): the organizer connects, a buyer pays for a ticket by card on the
   stand-in Checkout page, the signed webhook completes the order (scripts/demo_card.py).
Each run starts from nothing, so the demo always shows the same thing.
``STEPPERSLIFE_DEMO_DIR`` moves the demo's folder (the tests use a temporary one).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from scripts.demo_card import buy_paid_ticket, start_fake_stripe
from scripts.demo_desk import box_office_sale, organizer_pages
from shared.qr import render_png

ROOT = Path(__file__).resolve().parents[1]
DEMO = Path(os.environ.get("STEPPERSLIFE_DEMO_DIR") or ROOT / ".demo")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(*args: str | Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], check=False, capture_output=True, text=True, env=env
    )
    if result.returncode != 0:
        sys.exit(f"demo: {' '.join(map(str, args[:3]))} failed:\n{result.stderr or result.stdout}")
    return result.stdout


def server(*args: str) -> str:
    return run(BIN / "sync-server", "--instance", DEMO / "server", *args)


def door(data: Path, *args: str | Path) -> str:
    return run(BIN / "scanner-app", "--data-dir", data, *args)


def wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("demo: the sync server stopped during start-up; see .demo/server.log")
        try:
            if httpx.get(url, timeout=30).status_code < 500:  # openapi.json is slow under load
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    sys.exit(f"demo: the sync server did not answer at {url}")


def phone_frame(token: str | None, caption: str) -> Image.Image:
    """A 1280x720 camera frame: a hand-held phone screen showing the ticket's QR code."""
    frame = Image.new("L", (1280, 720), 40)
    draw = ImageDraw.Draw(frame)
    draw.rounded_rectangle((440, 60, 840, 700), radius=40, fill=15)
    draw.rounded_rectangle((460, 110, 820, 650), radius=12, fill=235)
    draw.text((480, 130), caption, fill=30)
    if token is not None:
        import io

        qr = Image.open(io.BytesIO(render_png(token, box_size=9))).convert("L")
        frame.paste(qr, (640 - qr.width // 2, 390 - qr.height // 2))
    return frame


def make_camera(folder: Path, tickets: Sequence[tuple[str, str | None]]) -> list[Path]:
    """The stand-in camera plays ``folder`` at 30 frames a second, looping: each ticket is held
    up for 3 s with an empty screen between. Frames are symlinks to one picture per ticket."""
    stills_dir = folder.parent / "tickets"
    stills_dir.mkdir(parents=True)
    folder.mkdir(parents=True)
    blank = stills_dir / "blank.png"
    phone_frame(None, "next in line…").save(blank, compress_level=1)
    stills: list[Path] = []
    n = 0
    for caption, token in tickets:
        still = stills_dir / f"ticket-{len(stills):02d}.png"
        phone_frame(token, caption).save(still, compress_level=1)  # fast: 60 stills
        stills.append(still)
        for source, count in ((still, 90), (blank, 30)):
            for _ in range(count):
                (folder / f"frame-{n:04d}.png").symlink_to(source)
                n += 1
    return stills


GUESTS = 48  # fresh tickets in the line: 48 x 4 s, over three minutes before the camera loops
HEADLESS = 6  # the head of the line, shown without a display: green x3, orange, red, orange
SAMPLES = 90  # tickets the seed lists with their token; about two in three are good tonight

Guest = tuple[str, str]  # caption, token


def guest_line(fresh: list[Guest], used_elsewhere: Guest, forged: Guest) -> list[Guest]:
    """The line of guests the stand-in camera shows, in order.

    Its head: three fresh tickets, the one the side door admitted, a forged one, and the first
    guest back again. Then fresh tickets, with every seventh guest one who came back (a ticket
    this door admitted a few guests before) and every seventeenth a forgery. Each fresh ticket
    is shown once, so none turns orange until the camera loops.
    """
    name, token = used_elsewhere
    line: list[Guest] = [*fresh[:3], (f"{name} (used at the side door)", token), forged,
                         (f"{fresh[0][0]} (again)", fresh[0][1])]
    admitted = list(fresh[:3])
    for n, guest in enumerate(fresh[3:], start=1):
        line.append(guest)
        admitted.append(guest)
        if n % 7 == 0:
            back = admitted[-4]
            line.append((f"{back[0]} (again)", back[1]))
        if n % 17 == 0:
            line.append((f"Forged ticket {n // 17 + 1}", forge(guest[1])))
    return line


def forge(token: str) -> str:
    last = "A" if token[-1] != "A" else "B"
    return token[:-1] + last


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "") in {"offscreen", "minimal"}:
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo",
        description="make demo: a throwaway sync server, two paired doors and a stand-in camera "
                    "showing a line of guests (green, orange, red). Uses .demo/ (or "
                    "$STEPPERSLIFE_DEMO_DIR), wiped at every run.")
    parser.parse_args(argv)
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir()
    print("demo: seeding the sync server (SQLite in .demo/server) …")
    summary = json.loads(server("seed-demo", "--live", "--json", "--samples", str(SAMPLES)))
    event_id = int(summary["event_id"])
    # Tickets good for tonight (day 1): whole-weekend passes, bundles and Friday tickets.
    samples = [s for s in summary["sample_tokens"] if 1 in s["valid_day_numbers"]]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    stripe, stripe_env = start_fake_stripe(sys.executable, ROOT, free_port(), url,
                                           DEMO / "stripe.log")
    log = (DEMO / "server.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "sync-server"), "--instance", str(DEMO / "server"), "run", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        # a platform fee of 5 % + $1.00 a ticket on new sales: the card payment shows the split
        env={**os.environ, **stripe_env, "SYNC_PLATFORM_FEE_BP": "500",
             "SYNC_PLATFORM_FEE_FIXED_CENTS": "100"},
    )
    try:
        wait_for(f"{url}/api/v1/openapi.json", process)
        print(f"demo: sync server on {url}: {summary['event_name']} (event {event_id})")
        side, main_door = DEMO / "side-door", DEMO / "door"
        for data, name in ((side, "Side door"), (main_door, "Main entrance")):
            code = json.loads(
                server("pair-device", "--event", str(event_id), "--name", name, "--json")
            )
            door(data, "pair", "--server", url, "--code", code["code"])
            door(data, "sync")
        used = samples[3]
        verdict = json.loads(door(side, "check", "--payload", used["token"]))
        if verdict.get("colour") != "green":
            sys.exit(f"demo: the side door should have admitted {used['holder_name']}: {verdict}")
        door(side, "sync")
        door(main_door, "sync")
        print("demo: two doors paired; the side door admitted one ticket and synced")
        fresh = [(s["holder_name"], s["token"]) for s in samples if s is not used][:GUESTS]
        tickets = guest_line(fresh, (used["holder_name"], used["token"]),
                             ("Forged ticket", forge(samples[-1]["token"])))
        stills = make_camera(DEMO / "camera", tickets)
        paid = next(t for t in summary["ticket_types"] if t["price_cents"] > 0)
        card_buyer = {"email": "casey.card@example.com", "password": "demo-card-buyer-2026"}
        run(BIN / "sync-server", "--instance", DEMO / "server", "create-user", "--email",
            card_buyer["email"], "--name", "Casey Card",
            env={**os.environ, "SYNC_NEW_USER_PASSWORD": card_buyer["password"]})
        for line in buy_paid_ticket(url, stripe_env["STRIPE_API_BASE"], summary["organizer"],
                                    card_buyer, event_id, paid):
            print(line)
        tier = paid["name"]
        for line in box_office_sale(url, event_id, summary["organizer"], summary["seller"], tier,
                                    DEMO / "desk", DEMO / "desk-sale.pdf", server, door):
            print(line)
        for line in organizer_pages(url, event_id, summary["organizer"]):
            print(line)
        if has_display():
            print("demo: opening the door app with a stand-in camera; the organizer's pages stay"
                  f" up at {url}/organize until you close the window")
            subprocess.run(
                [
                    str(BIN / "scanner-app"),
                    "--data-dir",
                    str(main_door),
                    "--camera",
                    str(DEMO / "camera"),
                ],
                check=False,
            )
        else:
            print("demo: no display here; the same tickets through `scanner-app check --image`:")
            for (caption, _), still in zip(tickets[:HEADLESS], stills[:HEADLESS], strict=True):
                verdict = json.loads(door(main_door, "check", "--image", still))
                colour, title = verdict.get("colour", "?"), verdict.get("title", "")
                print(f"  {caption:<32} -> {colour:>6}  {title}  {verdict.get('detail', '')}")
            print("demo: on a machine with a display, `make demo` opens the door window instead.")
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
        stripe.terminate()
        stripe.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
