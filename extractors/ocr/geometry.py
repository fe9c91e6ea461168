"""Page geometry: which way is up, and how skewed the text lines are.

Angles follow the screen convention: a page "rotated by +2 degrees" has its text lines rising
to the right (counter-clockwise); ``rotate(img, a)`` turns an image counter-clockwise by ``a``
and ``page_correction`` returns the angle that makes a page upright and level.

Everything is measured on a small (900 px wide), lighting-flattened, binarised copy:
- quarter turn (0 vs 90): the nearest neighbour of a glyph lies along the text direction
  (letters of a word are closer than the next line). A projection profile alone picked 90 on
  narrow monospace receipts (SROIE), where the columns line up.
- skew: maximise the sum of squares of the projection profile of the text pixels over
  +-5 degrees (0.5 degree steps, then 0.05). Pure numpy, so the OpenCV 5 change of the
  ``minAreaRect`` angle convention (PERF-NOTES trap 4) cannot flip the sign.
- upside down (0 vs 180): upright Latin glyphs share a baseline (their bottoms agree) while
  their tops differ (x-height, ascenders, capitals, digits); upside down it is the reverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float64]
Box = tuple[float, float, float, float]  # x0, top, x1, bottom

SMALL_WIDTH = 900
_MIN_GLYPH_AREA = 4         # pixels of the small copy; smaller blobs are noise
_MAX_GLYPHS = 600           # nearest-neighbour sample (an n x n distance matrix)
_TILL_ROLL_ASPECT = 1.8     # height / width above which a picture is a till roll (A4: 1.41)
_COARSE = np.arange(-5.0, 5.01, 0.5)
_FINE = np.arange(-0.5, 0.51, 0.05)


def rotate(img: Image, angle_deg: float) -> Image:
    """Rotate counter-clockwise by ``angle_deg`` around the centre, keeping the whole page.

    The new corners are filled with the paper colour (the median grey): replicating the edge
    pixels drew noisy streaks there that made Tesseract ~60 % slower (measured CPU time).
    """
    if abs(angle_deg - round(angle_deg / 90) * 90) < 1e-6:
        quarter = round(angle_deg / 90) % 4
        return np.ascontiguousarray(np.rot90(img, quarter)) if quarter else img
    h, w = img.shape[:2]
    matrix, size = turn_matrix(w, h, angle_deg)
    paper = int(np.median(img[::16, ::16]))
    out = cv2.warpAffine(img, matrix, size, flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=paper)
    return np.asarray(out, dtype=np.uint8)


def turn_matrix(width: int, height: int, angle_deg: float) -> tuple[Floats, tuple[int, int]]:
    """The affine map ``rotate`` applies to a ``width`` x ``height`` image (its pixels to
    those of the canvas enlarged to keep the corners), and that canvas's size. A quarter turn
    gives exactly ``np.rot90``'s map and size (pixel edges as coordinates)."""
    matrix = np.asarray(cv2.getRotationMatrix2D((width / 2, height / 2), angle_deg, 1.0),
                        dtype=np.float64)
    cos, sin = abs(matrix[0, 0]), abs(matrix[0, 1])
    size = round(height * sin + width * cos), round(height * cos + width * sin)
    matrix[0, 2] += size[0] / 2 - width / 2
    matrix[1, 2] += size[1] / 2 - height / 2
    return matrix, size


@dataclass(frozen=True)
class Turn:
    """One ``rotate`` of a page: the angle, and the size (pixels) of the image it turned."""

    angle_deg: float
    width: int
    height: int


def unturn(points: Floats, turns: Sequence[Turn], scale: float) -> Floats:
    """Where points (rows of x, y) of a page read after ``turns`` were before the first turn.
    ``scale``: the points' units per pixel of the images (72 / dpi for PDF points)."""
    pixels = np.asarray(points, dtype=np.float64) / scale
    for turn in reversed(turns):
        matrix, _ = turn_matrix(turn.width, turn.height, turn.angle_deg)
        back = np.asarray(cv2.invertAffineTransform(matrix), dtype=np.float64)
        pixels = pixels @ back[:, :2].T + back[:, 2]
    return pixels * scale


@dataclass(frozen=True)
class PageFrame:
    """How the page the OCR read lies on the page as received: the clean-up's turns (in
    order) and the points per pixel its words were measured in. The web app shows the page
    as received, so the words' boxes are carried back onto it (``as_received``)."""

    turns: tuple[Turn, ...] = ()
    points_per_px: float = 72 / 300

    def as_received(self, box: Box) -> Box:
        """``box`` (x0, top, x1, bottom in points) on the page as received: the upright
        box around its four corners turned back."""
        if not self.turns:
            return box
        x0, top, x1, bottom = box
        corners = np.array([[x0, top], [x1, top], [x0, bottom], [x1, bottom]], dtype=np.float64)
        back = unturn(corners, self.turns, self.points_per_px)
        low, high = back.min(axis=0), back.max(axis=0)
        return float(low[0]), float(low[1]), float(high[0]), float(high[1])


def shrink(gray: Image, scale: float) -> Image:
    """`gray` scaled down by `scale` (area averaging): halved exactly while the scale allows
    (OpenCV's 2x fast path, ~0.6 ms on an A4 page at 300 dpi), then resized the rest of the
    way on the smaller copy; 5 ms instead of 9-15 ms for one arbitrary-factor resize."""
    while scale <= 0.5:
        gray = np.asarray(cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
                          dtype=np.uint8)
        scale *= 2
    if scale >= 1.0:
        return gray
    return np.asarray(cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA),
                      dtype=np.uint8)


def small_copy(gray: Image) -> Image:
    """A copy at most ``SMALL_WIDTH`` wide with uneven lighting divided out."""
    small = shrink(gray, min(1.0, SMALL_WIDTH / gray.shape[1]))
    background = cv2.dilate(small, np.ones((15, 15), np.uint8)).astype(np.float32) + 1.0
    return np.asarray(np.clip(small / background * 255.0, 0, 255), dtype=np.uint8)


def glyphs(small: Image) -> tuple[Image, npt.NDArray[np.int32]]:
    """Binary text mask (1 = ink) keeping only glyph-sized blobs, and their stats rows."""
    _, ink = cv2.threshold(small, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    limit = 0.05 * max(small.shape)
    keep = (stats[:, cv2.CC_STAT_HEIGHT] < limit) & (stats[:, cv2.CC_STAT_WIDTH] < 4 * limit)
    keep &= stats[:, cv2.CC_STAT_AREA] >= _MIN_GLYPH_AREA
    keep[0] = False
    return np.asarray(keep[labels], dtype=np.uint8), np.asarray(stats[keep], dtype=np.int32)


def till_roll(gray: Image) -> bool:
    """A picture much taller than wide (`_TILL_ROLL_ASPECT`): a till roll standing up, read
    along its length; the glyph vote of `quarter_turn` is not asked of it. On thin,
    letter-spaced print the pieces of one character stand above each other and the vote
    comes out the wrong way: 2 of 101 SROIE receipts, upright, were turned a quarter and
    read as garbage. Text in the languages read here runs across a tall picture, never
    down it. (A picture much wider than tall may be a strip of ordinary lines as well as a
    roll on its side: the glyphs still vote.)"""
    height, width = gray.shape[:2]
    return bool(height >= _TILL_ROLL_ASPECT * width)


def quarter_turn(stats: npt.NDArray[np.int32]) -> float:
    """90 if the glyphs' nearest neighbours are mostly above/below each other, else 0."""
    if len(stats) < 10:
        return 0.0
    pick = np.random.default_rng(0).permutation(len(stats))[:_MAX_GLYPHS]
    x = stats[pick, cv2.CC_STAT_LEFT] + stats[pick, cv2.CC_STAT_WIDTH] / 2
    y = stats[pick, cv2.CC_STAT_TOP] + stats[pick, cv2.CC_STAT_HEIGHT] / 2
    dx, dy = x[:, None] - x[None, :], y[:, None] - y[None, :]
    dist = np.hypot(dx, dy)
    np.fill_diagonal(dist, np.inf)
    nearest = dist.argmin(axis=1)
    rows = np.arange(len(pick))
    vertical = np.abs(dy[rows, nearest]) > np.abs(dx[rows, nearest])
    return 90.0 if vertical.mean() > 0.5 else 0.0


def _profile_score(xs: Floats, ys: Floats, deg: float) -> float:
    rad = np.deg2rad(deg)
    proj = ys * np.cos(rad) + xs * np.sin(rad)
    hist = np.bincount((proj - proj.min()).astype(np.int64))
    return float(np.dot(hist, hist))


def line_angle(ink: Image, base: float) -> float:
    """Counter-clockwise angle of the text lines within +-5 degrees of ``base``."""
    ys, xs = np.nonzero(ink)
    if len(xs) < 50:
        return base
    fx, fy = xs.astype(np.float64), ys.astype(np.float64)
    coarse = max(_COARSE + base, key=lambda a: _profile_score(fx, fy, float(a)))
    return float(max(coarse + _FINE, key=lambda a: _profile_score(fx, fy, float(a))))


def measure_angle(gray: Image) -> float:
    """Counter-clockwise angle of the text lines: near 0 (upright or upside down) or near 90."""
    ink, stats = glyphs(small_copy(gray))
    return line_angle(ink, quarter_turn(stats))


def measure_skew(gray: Image) -> float:
    """Skew in degrees (counter-clockwise positive) of a page whose lines are about level."""
    angle = measure_angle(gray)
    return angle - 90.0 if angle > 45 else angle


def baseline_score(small: Image) -> float:
    """Mean over lines of (spread of glyph tops - spread of bottoms); below 0: upside down."""
    ink, stats = glyphs(small)
    tops = stats[:, cv2.CC_STAT_TOP].astype(np.float64)
    bottoms = tops + stats[:, cv2.CC_STAT_HEIGHT]
    centres = (tops + bottoms) / 2
    scores = []
    for start, stop in _line_runs(ink.sum(axis=1).astype(np.float64)):
        member = (centres >= start) & (centres < stop)
        if member.sum() >= 3:
            scores.append(_spread(tops[member]) - _spread(bottoms[member]))
    return float(np.mean(scores)) if scores else 0.0


def upside_down(gray: Image) -> bool:
    """True if the level text lines of ``gray`` look rotated by 180 degrees."""
    return baseline_score(small_copy(gray)) < 0


def _spread(values: Floats) -> float:
    return float(np.mean(np.abs(values - np.median(values))))


def _line_runs(rows: Floats) -> list[tuple[int, int]]:
    on = np.concatenate([[False], rows > 0, [False]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= 3]


def page_correction(gray: Image, *, level: bool = True, quarter: bool = True) -> float:
    """Counter-clockwise angle that makes the text lines level (deskew) and/or horizontal
    (quarter turn). Whether the result is upside down is a separate question
    (``upside_down``), best asked of the rotated full-size page: a rotated small copy lost
    the signal on 1 of 32 test pages."""
    ink, stats = glyphs(small_copy(gray))
    turn = 0.0 if till_roll(gray) else quarter_turn(stats)
    skew = line_angle(ink, turn) - turn if level else 0.0
    return (-turn if quarter else 0.0) - skew
