"""``verify bench`` from the command line: --quick, --json, --only, --backend and their errors."""

import json
import sys

import pytest

from verify import cli
from verify.bench import command


def test_quick_json_is_one_parseable_document(capsys):
    status = cli.main(["bench", "--quick", "--json", "--only", "hinge", "--no-compile", "--repeats", "1"])
    out = capsys.readouterr().out
    assert status == 0
    doc = json.loads(out)
    assert doc["environment"]["numba_threads"] >= 1
    assert doc["environment"]["command"] == (
        "verify bench --backend cpu,parallel --quick --json --no-compile --only hinge --repeats 1")
    assert doc["machine"]["triad_gbps"] > 0 and doc["machine"]["exps_per_second"] > 0
    (record,) = doc["records"]
    assert record["workload"] == "hinge"
    names = [m["implementation"] for m in record["measurements"]]
    assert names[:3] == ["numpy", "cpu", "parallel"]
    par = record["measurements"][2]
    assert {"median_ms", "min_ms", "repeats", "speedup_over_numpy", "gbps", "fraction_of_triad"} <= set(par)
    assert doc["compile"] == []
    # added fields: the true traffic, the limit of the workload's regime, sampled before and after it
    assert {"workload", "title", "size", "bytes_per_call", "item", "measurements", "targets", "notes"} <= set(record)
    assert record["rate_unit"] == "calls/s" and par["traffic_gbps"] > par["gbps"]
    assert record["limit"]["regime"] == "cache"  # 100,000 examples x 24 bytes: well inside the last-level cache
    samples = doc["machine"]["limit_samples"]
    assert [s["after"] for s in samples] == ["machine limits", "hinge"]
    assert record["limit"]["samples_gbps"] == [samples[0]["cache"], samples[1]["cache"]]
    assert record["limit"]["limit_gbps"] == max(record["limit"]["samples_gbps"])
    assert doc["machine"]["limit_spread"]["memory"]["n"] == 2


def test_quick_table_shows_ratios_and_a_skipped_workload(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "verify.kernels.network", None)
    status = cli.main(["bench", "--quick", "--only", "network", "--only", "momentum", "--no-compile",
                       "--repeats", "1", "--backend", "parallel"])
    out = capsys.readouterr().out
    assert status == 0
    assert "== network" in out and "skipped: verify.kernels.network is not available" in out
    assert "== momentum" in out and "x numpy" in out and "triad_gbps" in out
    assert "target parallel fraction_of_triad >= 0.7" in out
    assert "calls/s" in out and "limit: in-place triad, cache-resident" in out
    for line in out.splitlines():  # a fraction above 100 % never stands without its note
        if "%!" in line:
            assert "of the limit" in out and "mismeasured" in out
    momentum_rows = out.split("== momentum")[1]
    assert " cpu " not in momentum_rows  # only the chosen backend (and the numpy baseline)


def test_compile_section_lists_the_probes_of_the_chosen_workloads(capsys):
    status = cli.main(["bench", "--quick", "--only", "hinge", "--backend", "cpu", "--repeats", "1", "--no-peers"])
    captured = capsys.readouterr()
    out = captured.out
    assert "[1/3] machine limits" in captured.err and "ETA" in captured.err  # progress: limits, hinge, compile
    assert status == 0
    section = out.split("JIT compile time and cache-load time")[1]
    assert "machine.triad_parallel" in section and "hinge.cpu" in section
    assert "hinge.parallel" not in section


def test_unknown_workload_is_an_error_naming_the_choices(capsys):
    assert cli.main(["bench", "--quick", "--only", "nope", "--no-compile"]) == 2
    err = capsys.readouterr().err
    assert "unknown workload(s) ['nope']" in err and "softmax_cross_entropy" in err


def test_bad_backend_and_repeats_are_refused(capsys):
    with pytest.raises(SystemExit):
        cli.main(["bench", "--backend", "gpu"])
    assert "backends must be among" in capsys.readouterr().err
    assert cli.main(["bench", "--repeats", "0"]) == 2


def test_list_names_every_workload(capsys):
    assert cli.main(["bench", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("softmax_cross_entropy", "network", "adam", "check_gradient_throughput", "claim_suite"):
        assert name in out


def test_parse_backends():
    assert command.parse_backends("cpu, parallel") == ("cpu", "parallel")
    with pytest.raises(Exception, match="backends must be among"):
        command.parse_backends("")


def test_profile_adds_the_phases_to_the_table_and_the_json_file(capsys, tmp_path):
    path = tmp_path / "bench.json"
    assert cli.main(["bench", "--quick", "--only", "momentum", "--profile", "--no-compile", "--repeats", "1",
                     "--no-peers", "--json-file", str(path)]) == 0
    assert "where the time goes" in capsys.readouterr().out
    record = json.loads(path.read_text())["records"][0]
    assert "update loop parallel GB/s" in record["profile"]
