"""Progress lines: one per item off a terminal, with counts and an ETA; nothing when disabled."""

from __future__ import annotations

import io

import pytest

from verify._progress import Progress


def test_plain_lines_count_items_and_give_an_eta():
    out = io.StringIO()
    with Progress(3, "claims", stream=out) as progress:
        for label in ("a", "b", "c"):
            progress.start(label)
            progress.done(label, "holds")
    lines = out.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == ["[1/3] a: holds", "[2/3] b: holds", "[3/3] c: holds"]
    assert all("ETA" in line for line in lines)
    assert lines[-1].endswith("ETA 0 s)")


def test_disabled_progress_prints_nothing():
    out = io.StringIO()
    with Progress(1, "x", stream=out, enabled=False) as progress:
        progress.start("a")
        progress.done("a")
        progress.note("hello")
    assert out.getvalue() == ""


def test_a_terminal_gets_a_bar_with_the_count():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    with Progress(2, "selfcheck", stream=out) as progress:
        progress.start("softmax")
        progress.done("softmax", "ok")
    assert "1/2" in out.getvalue() and "selfcheck" in out.getvalue()


def test_bad_total_is_refused():
    with pytest.raises(ValueError, match="total must be an integer >= 0; got -1"):
        Progress(-1, "x")
