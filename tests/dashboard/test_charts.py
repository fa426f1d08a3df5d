"""The server-drawn pictures' geometry: pure, on plain data."""

from __future__ import annotations

from dashboard.charts import ZERO_BAR, bar_chart, path_nodes, window_edges


def test_window_edges_start_before_the_onset_on_the_bucket_grid_and_stop_at_now():
    edges = window_edges(1005.0, 60, 10, until=1130, before=2, after=10)
    assert edges[0] == 1000 - 120
    assert all(b - a == 60 for a, b in zip(edges, edges[1:], strict=False))
    assert edges[-2] <= 1130 < edges[-1]


def test_window_edges_never_exceed_before_plus_after_windows():
    assert len(window_edges(0.0, 10, 10, until=10_000, before=5, after=10)) == 16


def test_bars_scale_to_the_largest_count_and_mark_the_onset():
    chart = bar_chart([0, 2, 0, 8], [0, 10, 20, 30, 40], onset=25)
    heights = [b.height for b in chart.bars]
    assert heights[0] == ZERO_BAR and heights[3] == chart.plot_bottom - chart.plot_top
    assert heights[1] == heights[3] / 4
    assert [b.count for b in chart.bars] == [0, 2, 0, 8]
    assert [b.after_onset for b in chart.bars] == [False, False, True, True]
    assert chart.bars[2].x < chart.onset_x < chart.bars[3].x
    assert chart.top == 8
    assert [b.label for b in chart.bars] == ["-25s", "-15s", "-5s", "+5s"]


def test_an_all_zero_chart_draws_flat_bars():
    chart = bar_chart([0, 0], [0, 10, 20], onset=5)
    assert chart.top == 1 and all(b.height == ZERO_BAR for b in chart.bars)


def test_path_folds_calls_into_the_callee_and_keeps_external_dependencies():
    def step(service, name, kind="request", peer=None, status="error", code="E502"):
        return {"service": service, "step": name, "kind": kind, "peer": peer, "status": status, "error_code": code}

    where = {"path": [step("gateway", "POST /api/checkout"),
                      step("gateway", "checkout POST /checkout", "dependency", "checkout"),
                      step("checkout", "POST /checkout", status="ok", code=None),
                      step("checkout", "payment POST /charge", "dependency", "payment"),
                      step("payment", "POST /charge", code="upstream_timeout"),
                      step("payment", "card-processor POST /authorize", "dependency", "card-processor", code="timeout")]}
    nodes = path_nodes(where)
    assert [n.service for n in nodes] == ["gateway", "checkout", "payment", "card-processor"]
    assert [n.failed for n in nodes] == [True, False, True, True]
    assert [n.origin for n in nodes] == [False, False, False, True]
    assert nodes[-1].external and nodes[-1].what == "called by payment: card-processor POST /authorize"


def test_empty_path_draws_nothing():
    assert path_nodes({"path": []}) == [] and path_nodes({}) == []
