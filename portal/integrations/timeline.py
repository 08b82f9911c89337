"""A 30-day status timeline of one integration, as data for a server-side SVG picture.

One column per day (oldest on the left), split into one row per feature; each cell has the
worst status the day's checks found. The axis names the first day with its year and then every
seventh day, so a reader can place a change in time.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.dateformat import format as date_format

from portal.integrations.models import Status

DAYS = 30
WIDTH = 600
LABEL_W = 170  # the feature names on the left
ROW_H = 14
GAP = 2
TOP = 4
WORST = {Status.RED: 3, Status.AMBER: 2, Status.GREEN: 1, Status.RETIRED: 0}


@dataclass
class Cell:
    x: float
    y: float
    width: float
    height: float
    status: str  # a Status value, or "none" for a day without a check
    title: str


@dataclass
class Tick:
    x: float
    label: str
    anchor: str


def timeline(checks, features: list[tuple[str, str]], today=None) -> dict:
    """``checks``: CheckResults of the last DAYS days; ``features``: (value, label) rows."""
    today = today or timezone.localdate()
    first = today - timedelta(days=DAYS - 1)
    worst: dict = {}
    for check in checks:
        day = timezone.localtime(check.checked_at).date()
        key = (check.feature, day)
        if day >= first and WORST[check.status] >= WORST.get(worst.get(key), -1):
            worst[key] = check.status
    slot = (WIDTH - LABEL_W) / DAYS
    labels = dict(Status.choices)
    cells, rows = [], []
    for row, (feature, label) in enumerate(features):
        y = TOP + row * (ROW_H + GAP)
        rows.append({"label": label if len(label) <= 28 else label[:27] + "…", "y": y + ROW_H - 3})
        for i in range(DAYS):
            day = first + timedelta(days=i)
            status = worst.get((feature, day), "none")
            text = labels.get(status, "—") if status != "none" else "—"
            title = f"{date_format(day, 'Y-m-d')} · {label}: {text}"
            x = round(LABEL_W + i * slot + 1, 2)
            cells.append(Cell(x, y, round(slot - 2, 2), ROW_H, status, title))
    axis_y = TOP + max(len(features), 1) * (ROW_H + GAP) + 2
    ticks = []
    for i in range(0, DAYS - 3, 7):
        day = first + timedelta(days=i)
        ticks.append(Tick(LABEL_W if i == 0 else round(LABEL_W + i * slot + slot / 2, 2),
                          date_format(day, "Y-m-d" if i == 0 else "m-d"),
                          "start" if i == 0 else "middle"))  # fmt: skip
    ticks.append(Tick(WIDTH, date_format(today, "m-d"), "end"))
    return {"cells": cells, "rows": rows, "label_w": LABEL_W, "ticks": ticks, "width": WIDTH,
            "axis_y": axis_y,
            "tick_end": axis_y + 4, "label_y": axis_y + 17, "height": axis_y + 24,
            "first": first, "today": today}  # fmt: skip
