"""The status timeline of a test's history, as data for a small SVG picture.

Every run gets an equal slot (so each bar can be pointed at, however close the runs were), oldest
on the left; the axis below names the date and time of evenly spaced runs.  The picture is drawn
in a fixed coordinate system (``WIDTH`` × ``HEIGHT``) and scaled by the browser to the width of
its box.
"""

from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext as _

WIDTH = 600
PLOT_TOP = 4
PLOT_HEIGHT = 56
AXIS_Y = PLOT_TOP + PLOT_HEIGHT
HEIGHT = AXIS_Y + 30
MAX_BAR = 24
MIN_BAR = 6
MAX_TICKS = 5


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    status: str
    title: str
    run_id: int


@dataclass
class Tick:
    x: float  # where the tick mark sits: the centre of its run's bar
    label_x: float
    label: str
    anchor: str  # SVG text-anchor, so the first and last labels stay inside the picture
    edge: bool  # the first or last label: the ones a narrow screen keeps


def _label(moment, span_days: float, first: bool) -> str:
    local = timezone.localtime(moment)
    # The first label always carries the full date; the others as much as the span needs.
    fmt = "Y-m-d H:i" if first else ("Y-m-d" if span_days > 3 else "m-d H:i")
    return date_format(local, fmt)


def _tick_indexes(count: int) -> list[int]:
    # Few wide slots leave less room per label than many narrow ones: fewer labels then.
    wanted = count if count <= 3 else 3 if count <= 8 else MAX_TICKS
    if wanted <= 1:
        return list(range(count))
    step = (count - 1) / (wanted - 1)
    return sorted({round(i * step) for i in range(wanted)})


def timeline(runs) -> dict:
    """``runs`` newest first (as the history page lists them); bar height shows the duration."""
    ordered = list(reversed(runs))
    count = len(ordered)
    slot = WIDTH / max(count, 1)
    bar_width = max(min(slot * 0.7, MAX_BAR), min(slot, 1.0))
    slowest = max((r.duration_ms or 0 for r in ordered), default=0) or 1
    bars = []
    for i, run in enumerate(ordered):
        height = max(MIN_BAR, PLOT_HEIGHT * (run.duration_ms or 0) / slowest)
        when = date_format(timezone.localtime(run.created_at), "Y-m-d H:i")
        title = f"{when}: {run.get_status_display()}"
        if run.duration_ms is not None:
            title += ", " + _("%(ms)s ms") % {"ms": run.duration_ms}
        x = i * slot + (slot - bar_width) / 2
        bars.append(Bar(round(x, 2), round(AXIS_Y - height, 2), round(bar_width, 2),
                        round(height, 2), run.status, title, run.pk))  # fmt: skip
    ticks = []
    if ordered:
        span = (ordered[-1].created_at - ordered[0].created_at).total_seconds() / 86400
        indexes = _tick_indexes(count)
        for i in indexes:
            bar = bars[i]
            centre = bar.x + bar.width / 2
            anchor, label_x = "middle", centre
            if len(indexes) > 1 and i == indexes[0]:
                anchor, label_x = "start", bar.x
            elif len(indexes) > 1 and i == indexes[-1]:
                anchor, label_x = "end", bar.x + bar.width
            label = _label(ordered[i].created_at, span, first=i == indexes[0])
            edge = i in (indexes[0], indexes[-1])
            ticks.append(Tick(round(centre, 2), round(label_x, 2), label, anchor, edge))
    return {
        "bars": bars, "ticks": ticks, "width": WIDTH, "height": HEIGHT, "axis_y": AXIS_Y,
        "tick_end": AXIS_Y + 4, "label_y": AXIS_Y + 18,
    }  # fmt: skip
