"""The README's worked example ("Check your own notes") is the tested one: its claims file runs through
``verify claims --claims`` and prints what the README says it prints (run times aside)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _section_blocks(title: str) -> dict[str, list[str]]:
    text = README.read_text()
    section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    blocks: dict[str, list[str]] = {}
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S):
        blocks.setdefault(lang, []).append(body)
    return blocks


def _without_times(text: str) -> list[str]:
    text = re.sub(r"\d+\.\d+ s\b", "<t> s", text)
    return [re.sub(r"\s+\d+\.\d+$", "  <t>", line.rstrip()) for line in text.strip().splitlines()]


def test_the_worked_example_prints_what_the_readme_says(tmp_path, monkeypatch, capsys):
    from verify.claims.registry import _REGISTRY
    from verify.cli import main

    blocks = _section_blocks("Check your own notes")
    (notes,), (command,), (shown,) = blocks["python"], blocks["bash"], blocks["text"]
    path = tmp_path / "lecture3_claims.py"
    path.write_text(notes)
    args = command.split()
    assert args[:3] == ["verify", "claims", "--claims"] and args[3] == path.name
    monkeypatch.chdir(tmp_path)
    before = set(_REGISTRY)
    try:
        status = main(args[1:])
    finally:
        for cid in set(_REGISTRY) - before:
            del _REGISTRY[cid]
    printed = capsys.readouterr().out
    assert status == 0
    assert _without_times(printed) == _without_times(shown)
    assert "refuted" in printed and "corrected (checked: holds)" in printed  # one wrong formula, corrected
