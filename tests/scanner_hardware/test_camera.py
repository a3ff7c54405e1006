"""The camera stand-in and the OpenCV camera, fed real files holding real ticket QR codes."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from scanner_app.hardware.camera import CameraError, FileCamera, OpenCvCamera, open_source
from scanner_app.hardware.decoders import ZxingDecoder
from tests.support.synthetic import sample_token, ticket_frames, write_frames


def _decode_all(camera: FileCamera | OpenCvCamera, limit: int = 1000) -> list[str]:
    decoder = ZxingDecoder()
    seen: list[str] = []
    for _ in range(limit):
        frame = camera.read()
        if frame is None:
            break
        seen.extend(decoder.decode(frame))
    return seen


def _write_video(path: Path, frames: list[np.ndarray], fps: float = 30.0) -> None:
    height, width = frames[0].shape
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    writer.release()


@pytest.fixture
def tokens() -> list[str]:
    return [sample_token(i) for i in (10, 11, 12)]


def test_folder_of_images_plays_in_order_through_the_real_decoder(tmp_path: Path, tokens) -> None:
    write_frames(ticket_frames(tokens, gap=2), tmp_path)
    camera = FileCamera(tmp_path, fps=None)
    assert _decode_all(camera) == tokens
    assert camera.read() is None  # ended, not looping
    camera.close()


def test_looping_folder_starts_again(tmp_path: Path, tokens) -> None:
    write_frames(ticket_frames(tokens[:1], gap=1), tmp_path)
    camera = FileCamera(tmp_path, fps=None, loop=True)
    assert _decode_all(camera, limit=6) == tokens[:1] * 3
    camera.close()
    assert camera.read() is None


def test_single_image_and_colour_image(tmp_path: Path, tokens) -> None:
    frame = ticket_frames(tokens[:1], gap=0)[0]
    path = tmp_path / "one.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR))
    camera = FileCamera(path, fps=None)
    first = camera.read()
    assert first is not None and first.ndim == 2
    assert ZxingDecoder().decode(first) == tokens[:1]


def test_video_file_plays_as_a_camera(tmp_path: Path, tokens) -> None:
    path = tmp_path / "door.avi"
    _write_video(path, ticket_frames(tokens, gap=2))
    assert _decode_all(FileCamera(path, fps=None)) == tokens


def test_unreadable_files_in_a_folder_are_skipped(tmp_path: Path, tokens) -> None:
    write_frames(ticket_frames(tokens[:1], gap=0), tmp_path)
    (tmp_path / "zz-broken.png").write_bytes(b"not a png")
    assert _decode_all(FileCamera(tmp_path, fps=None)) == tokens[:1]


def test_bad_paths_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="does not exist"):
        FileCamera(tmp_path / "missing")
    with pytest.raises(CameraError, match="holds no images"):
        FileCamera(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CameraError, match="not a video"):
        FileCamera(text)


def test_missing_camera_index_raises_a_clear_error() -> None:
    with pytest.raises(CameraError, match="could not be opened"):
        OpenCvCamera(97)


def test_opencv_camera_hands_out_only_the_newest_frame(tmp_path: Path) -> None:
    # Ten frames of rising brightness; the grab thread reads them all before we ask.
    frames = [np.full((120, 160), 20 + 20 * i, np.uint8) for i in range(10)]
    path = tmp_path / "ramp.avi"
    _write_video(path, frames)
    camera = OpenCvCamera(str(path), width=None, height=None, read_timeout=5.0)
    for _ in range(500):
        if camera.ended:
            break
        time.sleep(0.01)
    assert camera.ended
    newest = camera.read()
    assert newest is not None and abs(int(newest.mean()) - 200) <= 4  # the last, not the first
    assert camera.read() is None  # nothing newer: never the same frame twice
    assert camera.frames_grabbed == 10
    camera.close()


def test_open_source_reads_numbers_as_devices_and_anything_else_as_files(
    tmp_path: Path, tokens
) -> None:
    write_frames(ticket_frames(tokens[:1], gap=0), tmp_path)
    assert isinstance(open_source(str(tmp_path)), FileCamera)
    with pytest.raises(CameraError):
        open_source("96")
