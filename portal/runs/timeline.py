"""The status timeline of a test's history, as data for a small SVG picture."""

from dataclasses import dataclass

BAR_WIDTH = 10
GAP = 2
HEIGHT = 48


@dataclass
class Bar:
    x: int
    y: int
    height: int
    status: str
    title: str
    run_id: int


def timeline(runs) -> dict:
    """Oldest run on the left; bar height shows duration relative to the slowest run."""
    ordered = list(reversed(runs))
    slowest = max((r.duration_ms or 0 for r in ordered), default=0) or 1
    bars = []
    for i, run in enumerate(ordered):
        height = max(6, int(HEIGHT * (run.duration_ms or 0) / slowest))
        when = run.created_at.strftime("%Y-%m-%d %H:%M")
        took = f", {run.duration_ms} ms" if run.duration_ms is not None else ""
        bars.append(Bar(i * (BAR_WIDTH + GAP), HEIGHT - height, height, run.status,
                        f"{when}: {run.get_status_display()}{took}", run.pk))  # fmt: skip
    return {"bars": bars, "width": max(len(bars) * (BAR_WIDTH + GAP), BAR_WIDTH),
            "height": HEIGHT, "bar_width": BAR_WIDTH}  # fmt: skip
