"""Frame sources: a real camera through OpenCV, and a file stand-in for machines without one.

Both hand out greyscale frames and implement ``FrameSource``. ``read()`` never returns a frame
older than one it already returned: :class:`OpenCvCamera` grabs continuously on its own thread
and keeps only the newest frame, because OpenCV's V4L2 backend queues ~4 frames and a slower
consumer would otherwise decide on a picture ~100 ms old (FACTS.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from scanner_app.core.ports import GrayFrame

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".pgm"})


def to_gray(image: np.ndarray) -> GrayFrame:
    if image.ndim == 2:
        return np.ascontiguousarray(image)
    code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return np.ascontiguousarray(cv2.cvtColor(image, code))


class CameraError(RuntimeError):
    """The camera cannot be opened; the message says which one and what to try."""


class OpenCvCamera:
    """A USB or built-in camera by index (or any source OpenCV opens: a file, an RTSP URL).

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
        self._capture = cv2.VideoCapture(source)
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
        self._read_timeout = read_timeout
        self._cond = threading.Condition()
        self._frame: GrayFrame | None = None
        self._sequence = 0
        self._handed_out = 0
        self._ended = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._grab_loop, name="camera-grab", daemon=True)
        self._thread.start()
        logger.info("camera %r opened at %sx%s", source, *self.resolution)

    @property
    def frames_grabbed(self) -> int:
        return self._sequence

    @property
    def ended(self) -> bool:
        """True once the source stopped sending (a file played to its end, a camera unplugged)."""
        return self._ended

    def _grab_loop(self) -> None:
        while not self._stop.is_set():
            ok, image = self._capture.read()
            if not ok or image is None:
                logger.warning("camera %r stopped sending frames", self.source)
                break
            frame = to_gray(image)
            with self._cond:
                self._frame = frame
                self._sequence += 1
                self._cond.notify_all()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def read(self) -> GrayFrame | None:
        deadline = time.monotonic() + self._read_timeout
        with self._cond:
            while self._sequence == self._handed_out and not self._ended:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    logger.warning(
                        "camera %r sent no frame for %.1f s", self.source, self._read_timeout
                    )
                    return None
                self._cond.wait(remaining)
            if self._sequence == self._handed_out:
                return None  # ended, and the last frame was already handed out
            self._handed_out = self._sequence
            return self._frame

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
        self._video: cv2.VideoCapture | None = None
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
            self._video = cv2.VideoCapture(str(self.path))
            if not self._video.isOpened():
                raise CameraError(f"{self.path} is not a video or image OpenCV can read")
        else:
            raise CameraError(f"{self.path} does not exist")
        self._frames = self._iterate()

    def _iterate(self) -> Iterator[GrayFrame]:
        while True:
            produced = 0
            if self._video is not None:
                self._video.set(cv2.CAP_PROP_POS_FRAMES, 0)
                while True:
                    ok, picture = self._video.read()
                    if not ok or picture is None:
                        break
                    produced += 1
                    yield to_gray(picture)
            else:
                for path in self._images:
                    image: np.ndarray | None = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
                    if image is None:
                        logger.warning("skipping %s: not an image OpenCV can read", path)
                        continue
                    if image.dtype != np.uint8:
                        image = cv2.convertScaleAbs(image, alpha=255.0 / max(1, int(image.max())))
                    produced += 1
                    yield to_gray(image)
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
) -> OpenCvCamera | FileCamera:
    """``camera`` as the command line gives it: a number is a device index, anything else a file."""
    if camera.strip().isdigit():
        return OpenCvCamera(int(camera), width=width, height=height)
    return FileCamera(camera, fps=fps, loop=loop)
