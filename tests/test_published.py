"""Published entries: lookup order, publishing from the read logs, the CI check, and verification by recomputing."""

import json
import shutil
import warnings

import numpy as np
import pytest

from resnet_ode.book.cli import main
from resnet_ode.studies import verification
from resnet_ode.training import cache, published, runs
from resnet_ode.training.cache import RUNS, CacheWarning
from resnet_ode.training.runs import RunConfig, cache_key, get_run
from resnet_ode.util import provenance

TINY = dict(nY=4, T=2.0, nt=3, nc=4, n_train_per_class=20, n_val_per_class=4, max_iter=3, cg_max_iter=5)


@pytest.fixture
def book(tmp_path, monkeypatch, tmp_cache):
    """A repository root of its own (read logs under its _build), a local cache and a published folder."""
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.setenv("RESNET_ODE_ROOT", str(root))
    log = published.log_path("test")
    monkeypatch.setenv(cache.READ_LOG_ENV, str(log))
    return {"root": root, "log": log, "cache": tmp_cache, "published": tmp_cache.parent / "published"}


def _no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("trained although the entry is published")

    monkeypatch.setattr(runs, "train", refuse)


def _publish_tiny(book, **changes):
    cfg = RunConfig(**{**TINY, **changes})
    first = get_run(cfg)
    report = published.publish(published.read_logs())
    return cfg, first, report


def test_read_log_records_where_each_entry_came_from(book):
    cfg = RunConfig(**TINY)
    get_run(cfg)
    get_run(cfg)
    key = cache_key(cfg)
    assert book["log"].read_text().splitlines() == [f"runs {key} computed", f"runs {key} local"]
    assert published.read_logs().where == {("runs", key): {"computed", "local"}}


def test_published_entry_serves_an_empty_cache_and_nothing_trains(book, monkeypatch):
    cfg, first, report = _publish_tiny(book)
    assert report.added == [f"run-{cache_key(cfg)}.npz"] and not report.removed
    manifest = json.loads((book["published"] / "manifest.json").read_text())
    (record,) = manifest["entries"]
    assert record["kind"] == "runs" and record["key"] == cache_key(cfg)
    assert record["recipe"] == {"config": cfg.to_dict()}
    assert record["training_code"] == runs.source_hash() == manifest["training_code"]
    assert record["numerics"] == json.loads(provenance.numerics())
    assert record["sha256"] == cache.sha256_file(book["published"] / record["file"])
    assert record["bytes"] > 0 and record["compute_seconds"] == pytest.approx(first.train_seconds)
    shutil.rmtree(book["cache"])
    book["log"].unlink()
    _no_training(monkeypatch)
    again = get_run(cfg)
    assert again.from_cache and np.array_equal(again.theta, first.theta) and np.array_equal(again.W, first.W)
    assert not book["cache"].exists()  # a published hit writes nothing
    assert book["log"].read_text().split() == ["runs", cache_key(cfg), "published"]
    assert RUNS.where(cache_key(cfg)) == book["published"] / record["file"]


def test_the_local_cache_comes_before_the_published_entries(book, monkeypatch):
    cfg, first, _ = _publish_tiny(book)
    book["log"].unlink()
    get_run(cfg)
    assert book["log"].read_text().split()[2] == "local"


def test_numeric_code_paths_are_provenance_not_key(book, monkeypatch):
    cfg = RunConfig(**TINY)
    key = cache_key(cfg)
    other = json.dumps({"numpy": {"tanh/float64": "baseline"}, "openblas_coretype": "ARMV8"})
    monkeypatch.setattr(provenance, "numerics", lambda: other)
    runs.source_hash.cache_clear()
    runs.code_identity.cache_clear()
    try:
        assert cache_key(cfg) == key
        assert runs.code_identity() != runs.source_hash()
    finally:
        runs.source_hash.cache_clear()
        runs.code_identity.cache_clear()


def test_a_changed_published_file_is_refused_and_computed(book, monkeypatch):
    cfg, first, _ = _publish_tiny(book)
    shutil.rmtree(book["cache"])
    entry = book["published"] / f"run-{cache_key(cfg)}.npz"
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 1  # one bit
    entry.write_bytes(bytes(data))
    with pytest.warns(CacheWarning, match="unusable published entry .*SHA-256 differs"):
        again = get_run(cfg)
    assert not again.from_cache and np.array_equal(again.theta, first.theta)
    assert entry.read_bytes() == bytes(data)  # published data are never changed by a read
    problems = published.check(published.read_logs())
    assert any("differs from its manifest record" in p for p in problems)


def test_check_names_the_publish_command_for_an_entry_not_published(book):
    cfg = RunConfig(**TINY)
    get_run(cfg)
    problems = published.check(published.read_logs())
    assert len(problems) == 1 and "computed by this build but is not published" in problems[0]
    assert published.PUBLISH_COMMAND in problems[0]
    published.publish(published.read_logs())
    assert published.check(published.read_logs()) == []


def test_check_fails_when_the_training_code_changed_and_was_not_published(book, monkeypatch):
    cfg, _, _ = _publish_tiny(book)
    book["log"].unlink()
    monkeypatch.setattr(runs, "source_hash", lambda: "f" * 64)
    get_run(cfg)  # another key: trains
    problems = published.check(published.read_logs())
    assert any("is not published" in p for p in problems)
    assert any("training-code hash" in p and "make publish" in p for p in problems)


def test_publish_removes_entries_no_longer_read_and_is_idempotent(book):
    cfg_a, _, _ = _publish_tiny(book)
    book["log"].unlink()
    cfg_b = RunConfig(**{**TINY, "init_seed": 1})
    get_run(cfg_b)
    manifest_before = None
    report = published.publish(published.read_logs())
    assert report.removed == [f"run-{cache_key(cfg_a)}.npz"]
    assert report.added == [f"run-{cache_key(cfg_b)}.npz"]
    manifest_before = (book["published"] / "manifest.json").read_bytes()
    again = published.publish(published.read_logs())
    assert again.added == [] and again.removed == [] and len(again.kept) == 1
    assert (book["published"] / "manifest.json").read_bytes() == manifest_before
    assert sorted(p.name for p in book["published"].iterdir()) == sorted(
        ["manifest.json", f"run-{cache_key(cfg_b)}.npz"])


def test_publish_refuses_an_entry_it_cannot_find(book):
    book["log"].write_text(f"runs {'0' * 32} computed\n")
    with pytest.raises(FileNotFoundError, match="in neither the local cache"):
        published.publish(published.read_logs())
    assert not book["published"].exists()


def test_malformed_read_log_is_named(book):
    book["log"].write_text("runs abc\n")
    with pytest.raises(ValueError, match=r"test.log:1: not a read-log line"):
        published.read_logs()


def test_verify_recomputes_a_published_run_bit_for_bit(book):
    cfg, _, _ = _publish_tiny(book)
    (record,) = published.entries()
    result = verification.verify_task(record, verification.task_inputs(record))
    assert result["identical"] and result["same_numerics"]
    assert {c["array"] for c in result["arrays"]} >= {"theta", "W", "history__objective", "message"}
    assert "history__seconds" not in {c["array"] for c in result["arrays"]}
    assert verification.report_line(result).strip().startswith("identical")


def test_verify_finds_an_entry_published_with_other_numbers(book):
    """An entry re-published after its numbers were altered (its manifest updated to match) differs on recompute."""
    cfg, _, _ = _publish_tiny(book)
    entry = book["published"] / f"run-{cache_key(cfg)}.npz"
    arrays, meta = RUNS._load(entry)
    arrays["theta"] = arrays["theta"].copy()
    arrays["theta"][0] = np.nextafter(arrays["theta"][0], np.inf)  # the last bit of one weight
    from resnet_ode.util.storage import write_npz

    write_npz(entry, arrays, meta)
    records = [published.entry_record(RUNS, entry, runs.source_hash())]
    published.write_manifest(book["published"], records, runs.source_hash())
    (record,) = published.entries()
    result = verification.verify_task(record, verification.task_inputs(record))
    assert not result["identical"]
    (theta,) = [c for c in result["arrays"] if c["array"] == "theta"]
    assert not theta["equal"] and theta["differing"] == 1
    assert "DIFFERENT" in verification.report_line(result)


def test_verify_command_exit_status(book, capsys):
    _publish_tiny(book)
    assert main(["verify", "--all", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "1 of 1 entries (1 runs, 0 surfaces, 0 hessians, 0 analyses) recomputed identical" in out
    entry = next(book["published"].glob("run-*.npz"))
    data = bytearray(entry.read_bytes())
    data[-10] ^= 1
    entry.write_bytes(bytes(data))
    with pytest.raises(SystemExit) as info:
        main(["verify", "--all", "--jobs", "1"])
    assert info.value.code == 1
    assert "SHA-256 differs" in capsys.readouterr().err


def test_verify_entry_by_file_name_stem_or_key(book, capsys):
    _publish_tiny(book)
    (record,) = published.entries()
    stem = record["file"].rsplit(".", 1)[0]
    assert main(["verify", "--entry", record["file"], "--entry", stem, "--entry", record["key"], "--jobs", "1"]) == 0
    assert "1 of 1 entries (1 runs, 0 surfaces, 0 hessians, 0 analyses) recomputed identical" in capsys.readouterr().out
    assert main(["verify", "--entry", "run-0000", "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "--entry: not published: run-0000" in err and record["file"] in err


def test_publish_command_check_and_status(book, capsys):
    cfg = RunConfig(**TINY)
    get_run(cfg)
    with pytest.raises(SystemExit) as info:
        main(["publish", "--check"])
    assert info.value.code == 1
    assert "is not published" in capsys.readouterr().err
    assert main(["publish", "--status"]) == 0
    assert "1 computed; 1 not published" in capsys.readouterr().out
    assert main(["publish"]) == 0
    assert "published 1 entries" in capsys.readouterr().out
    assert main(["publish", "--check"]) == 0


def test_publish_without_read_logs_is_a_usage_error(book, capsys):
    book["log"].unlink(missing_ok=True)
    assert main(["publish"]) == 2
    assert "no read logs" in capsys.readouterr().err


def _record(kind, nY=8, name="x"):
    recipe = {"config": {"nY": nY}} if kind == "runs" else {"run": {"nY": nY}}
    return {"file": f"{kind}-{name}-{nY}", "kind": kind, "recipe": recipe}


def test_sample_has_a_deep_and_a_shallow_run_a_surface_and_a_hessian_and_follows_the_seed():
    records = [_record("runs", n, str(i)) for i, n in enumerate([4, 8, 16, 32, 64, 128, 256, 256])]
    records += [_record("surfaces", 8, str(i)) for i in range(10)] + [_record("hessians", 8, str(i)) for i in range(5)]
    records += [_record("analyses", 8, str(i)) for i in range(3)]
    picks = {}
    for seed in range(20):
        chosen = verification.sample(records, seed)
        kinds = [r["kind"] for r in chosen]
        assert kinds == ["runs", "runs", "surfaces", "hessians", "analyses"]
        assert chosen[0]["recipe"]["config"]["nY"] >= 128 and chosen[1]["recipe"]["config"]["nY"] <= 8
        assert verification.sample(records, seed) == chosen
        picks[seed] = tuple(r["file"] for r in chosen)
    assert len(set(picks.values())) > 5
    assert verification.seed_from("abc") == verification.seed_from("abc") != verification.seed_from("abd")


def test_published_entries_must_carry_a_recipe(book):
    """An entry written without provenance (an older version) is not published silently."""
    cfg = RunConfig(**TINY)
    get_run(cfg)
    entry = RUNS.path(cache_key(cfg))
    arrays, meta = RUNS._load(entry)
    del meta["recipe"]
    from resnet_ode.util.storage import write_npz

    write_npz(entry, arrays, meta)
    with pytest.raises(cache.BadEntry, match="no provenance or recipe"):
        published.publish(published.read_logs())
    assert not book["published"].exists()  # checked before anything was written


def test_a_non_finite_weight_is_set_aside_and_retrained(book):
    """Issue 23: a valid zip whose theta holds one NaN was used silently."""
    cfg = RunConfig(**TINY)
    first = get_run(cfg)
    entry = RUNS.path(cache_key(cfg))
    from resnet_ode.util.storage import write_npz

    for copy in range(2):
        arrays, meta = RUNS._load(entry)
        arrays["theta"] = arrays["theta"].copy()
        arrays["theta"][copy] = np.nan
        write_npz(entry, arrays, meta)
        with pytest.warns(CacheWarning, match=r"theta holds 1 non-finite value\(s\)"):
            again = get_run(cfg)
        assert not again.from_cache and np.array_equal(again.theta, first.theta)
    # the second bad copy did not overwrite the first one set aside
    bad = sorted(p.name for p in book["cache"].glob("*.bad"))
    assert bad == [entry.name + ".1.bad", entry.name + ".bad"]
    assert np.isnan(RUNS._load(book["cache"] / (entry.name + ".bad"))[0]["theta"][0])
    assert np.isnan(RUNS._load(book["cache"] / (entry.name + ".1.bad"))[0]["theta"][1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert get_run(cfg).from_cache


def test_a_stored_analysis_is_computed_once_published_and_verified(book, count_computations):
    """The grid cross-evaluation of two tiny runs: computed, stored, served from the published entries, recomputed."""
    from resnet_ode.studies import evaluation

    trained = [get_run(RunConfig(**{**TINY, "nY": n})) for n in (3, 4)]
    calls = count_computations("cross_grid_accuracy")
    first = evaluation.cross_grid_accuracy(trained, n=16)
    assert first.correct.shape == (2, 2) and first.n == 256 and len(calls) == 1
    direct = evaluation._cross_grid_accuracy(trained, n=16, chunk=evaluation.GRID_CHUNK)
    assert np.array_equal(first.correct, direct["correct"])
    again = evaluation.cross_grid_accuracy(trained, n=16)
    assert np.array_equal(again.correct, first.correct) and len(calls) == 1  # from the cache
    report = published.publish(published.read_logs())
    assert sum(name.startswith("analysis-") for name in report.added) == 1
    shutil.rmtree(book["cache"])
    served = evaluation.cross_grid_accuracy(trained, n=16)
    assert np.array_equal(served.correct, first.correct) and len(calls) == 1  # from the published entry
    # another parameter is another entry
    evaluation.cross_grid_accuracy(trained, n=8)
    assert len(calls) == 2
    (record,) = [r for r in published.entries() if r["kind"] == "analyses"]
    assert record["recipe"]["analysis"] == "cross_grid_accuracy" and record["recipe"]["params"]["n"] == 16
    result = verification.verify_task(record, verification.task_inputs(record))
    assert result["identical"], result
    assert len(calls) == 3  # the verification computed it afresh


def test_an_analysis_key_follows_its_code_and_its_runs(book, monkeypatch):
    from resnet_ode.studies import evaluation, memo  # noqa: F401  (evaluation registers its analyses)

    trained = [get_run(RunConfig(**TINY))]
    key = memo.analysis_key("cross_grid_accuracy", trained, {"n": 16})
    assert key != memo.analysis_key("cross_grid_accuracy", trained, {"n": 8})
    other = [get_run(RunConfig(**{**TINY, "init_seed": 1}))]
    assert key != memo.analysis_key("cross_grid_accuracy", other, {"n": 16})
    monkeypatch.setattr(memo.Analysis, "source_hash", lambda self: "changed")
    assert key != memo.analysis_key("cross_grid_accuracy", trained, {"n": 16})


def test_an_analysis_recipe_may_only_name_the_package_s_studies():
    from resnet_ode.studies import memo

    with pytest.raises(ValueError, match="not part of resnet_ode.studies"):
        memo.recompute({"analysis": "x", "module": "os", "params": {}}, [])


def test_verify_all_recomputes_every_kind_it_finds(book, capsys):
    """Runs first (the longest first), then the entries computed from them: here a run and a stored analysis."""
    from resnet_ode.studies import evaluation

    trained = [get_run(RunConfig(**{**TINY, "nY": n})) for n in (3, 4)]
    evaluation.cross_grid_accuracy(trained, n=8)
    published.publish(published.read_logs())
    shutil.rmtree(book["cache"])
    assert main(["verify", "--all", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 entries (2 runs, 0 surfaces, 0 hessians, 1 analyses) recomputed identical" in out
    assert not book["cache"].exists()  # verifying stores nothing
