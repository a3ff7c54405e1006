"""Frame sources: a real camera through Qt Multimedia, and stand-ins that play files.

All hand out greyscale frames and implement ``FrameSource``. ``read()`` never returns a frame
older than one it already returned: a camera delivers frames on its own thread and only the
newest is kept, because a slower consumer would otherwise decide on a picture ~100 ms old
(FACTS.md). Cameras open through Qt Multimedia (:class:`QtCamera`, ``scanner_app.hardware.
qt_camera``), which the app ships anyway; OpenCV is only used, when installed, for video files
and stream URLs (:class:`OpenCvCamera`): the door app's package leaves OpenCV out (158 MB,
docs/packaging.md), so there a video file is refused with words and a folder of images works.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from scanner_app.core.ports import GrayFrame
from scanner_app.hardware.imaging import read_gray, to_gray
from scanner_app.hardware.newest_frame import NewestFrame
from scanner_app.hardware.qt_camera import CameraError, QtCamera

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm"})

__all__ = ["CameraError", "FileCamera", "OpenCvCamera", "QtCamera", "open_source", "to_gray"]


def _opencv(what: str) -> ModuleType:
    """OpenCV, imported only for video files and stream URLs; absent from the door package."""
    try:
        import cv2
    except ImportError as exc:
        raise CameraError(
            f"{what} needs OpenCV, which this installation does not include: use a camera "
            "number or a folder of images instead."
        ) from exc
    return cv2


class OpenCvCamera(NewestFrame):
    """Any source OpenCV opens (a video file, an RTSP URL, a camera index) when OpenCV is
    installed (development machines; not the door package).

    A daemon thread grabs frames as fast as the camera sends them and keeps only the newest;
    :meth:`read` waits for a frame newer than the last one it returned.
    """

    def __init__(
        self,
        source: int | str = 0,
        *,
        width: int | None = 1280,
        height: int | None = 720,
        read_timeout: float = 2.0,
    ) -> None:
        self.source = source
        cv2 = _opencv(f"camera source {source!r}")
        self._capture: Any = cv2.VideoCapture(source)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(
                f"camera {source!r} could not be opened: is it plugged in, and not used by "
                "another program? Choose another camera in Settings."
            )
        # Where the backend honours it, this keeps frames fresh; the grab thread covers the rest.
        self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if width and height:
            self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self.resolution = (
            int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
        self._start_hand_out(source=source, read_timeout=read_timeout)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._grab_loop, name="camera-grab", daemon=True)
        self._thread.start()
        logger.info("camera %r opened at %sx%s", source, *self.resolution)

    def _grab_loop(self) -> None:
        while not self._stop.is_set():
            ok, image = self._capture.read()
            if not ok or image is None:
                logger.warning("camera %r stopped sending frames", self.source)
                break
            self._hand_over(to_gray(image))
        self._end()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._capture.release()


def _image_paths(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


class FileCamera:
    """Plays a video file, a folder of images (in name order) or one image as if it were a camera.

    ``fps`` paces the frames like a real camera (``None`` or 0: as fast as they are asked for);
    ``loop`` starts again at the end instead of ending (``read()`` then returns None).
    """

    def __init__(self, path: str | Path, *, fps: float | None = 30.0, loop: bool = False) -> None:
        self.path = Path(path)
        self._interval = 1.0 / fps if fps else 0.0
        self._loop = loop
        self._next_at = 0.0
        self._closed = False
        self._video: Any = None  # a cv2.VideoCapture
        self._images: list[Path] = []
        if self.path.is_dir():
            self._images = _image_paths(self.path)
            if not self._images:
                raise CameraError(
                    f"{self.path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})"
                )
        elif self.path.is_file() and self.path.suffix.lower() in IMAGE_SUFFIXES:
            self._images = [self.path]
        elif self.path.is_file():
            self._video = _opencv(f"the video file {self.path.name}").VideoCapture(str(self.path))
            if not self._video.isOpened():
                raise CameraError(f"{self.path} is not a video or image OpenCV can read")
        else:
            raise CameraError(f"{self.path} does not exist")
        self._frames = self._iterate()

    def _iterate(self) -> Iterator[GrayFrame]:
        while True:
            produced = 0
            if self._video is not None:
                self._video.set(_opencv("a video file").CAP_PROP_POS_FRAMES, 0)
                while True:
                    ok, picture = self._video.read()
                    if not ok or picture is None:
                        break
                    produced += 1
                    yield to_gray(picture)
            else:
                for path in self._images:
                    image = read_gray(path)
                    if image is None:
                        logger.warning("skipping %s: not an image the app can read", path)
                        continue
                    produced += 1
                    yield image
            if not self._loop or produced == 0:
                return

    def read(self) -> GrayFrame | None:
        if self._closed:
            return None
        if self._interval:
            now = time.monotonic()
            if self._next_at > now:
                time.sleep(self._next_at - now)
            self._next_at = max(now, self._next_at) + self._interval
        return next(self._frames, None)

    def close(self) -> None:
        self._closed = True
        if self._video is not None:
            self._video.release()


def open_source(
    camera: str,
    *,
    width: int | None = 1280,
    height: int | None = 720,
    fps: float = 30.0,
    loop: bool = True,
) -> QtCamera | FileCamera:
    """``camera`` as the command line gives it: a number is a device index, anything else a file."""
    if camera.strip().isdigit():
        return QtCamera(int(camera), width=width, height=height)
    return FileCamera(camera, fps=fps, loop=loop)
