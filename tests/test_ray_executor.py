"""The Ray backend runs the same units as the local executor and must produce the same bytes."""

import gzip
import os

import pytest

from dolma.core.units import Stage
from tests.test_tag_stage import PLUGIN, corpus, run_tag

ray = pytest.importorskip("ray", reason="the ray extra is part of the dev install")


@pytest.fixture(scope="module")
def ray_cluster():
    # a fresh local 2-CPU cluster even where one is already running; workers find the plugin by path like
    # local workers do
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def test_tag_on_ray_matches_local_bytes(tmp_path, ray_cluster):
    root = corpus(tmp_path, n_files=4)
    args = dict(documents=[f"{root}/documents/*.gz"], taggers=["test_cool_words", "test_word_spans"])
    assert run_tag(**args, experiment="e", destination=[str(tmp_path / "local")]).ok
    report = run_tag(
        **args, experiment="e", destination=[str(tmp_path / "ray")], processes=2, executor={"backend": "ray"}
    )
    assert report.ok and len(report.done) == 4
    for i in range(4):
        name = f"part-{i}.jsonl.gz"
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()
        assert os.path.exists(tmp_path / "ray" / (name + ".manifest.json"))
    # a rerun on Ray skips what is done
    again = run_tag(**args, experiment="e", destination=[str(tmp_path / "ray")], executor={"backend": "ray"})
    assert len(again.skipped) == 4


def test_ray_reports_failed_units_with_reasons(tmp_path, ray_cluster):
    root = tmp_path / "corpus"
    (root / "documents").mkdir(parents=True)
    (root / "documents/bad.jsonl").write_text('{"id": "1", "text": "ok"}\n{"id": 2}\n')
    (root / "documents/good.jsonl").write_text('{"id": "1", "text": "ok"}\n')
    report = run_tag(
        documents=[f"{root}/documents/*.jsonl"], taggers=["test_cool_words"], experiment="e", processes=2,
        executor={"backend": "ray"}, tagger_modules=[PLUGIN],
    )
    assert [k.rsplit("/", 1)[1] for k, _ in report.done] == ["good.jsonl"]
    assert report.failed == [(f"{root}/documents/bad.jsonl", f"{root}/documents/bad.jsonl:2: wrong type: Expected `str`, got `int` - at `$.id`")]


def test_decon_on_ray_matches_local_bytes(tmp_path, ray_cluster):
    import json

    from dolma.cli import main
    from tests.conftest import write_documents
    from tests.test_decon import HUMANEVAL, _filler

    (tmp_path / "index.json").write_text(json.dumps({"sets": [{"name": "humaneval", "preset": "humaneval"}],
                                                      "output": str(tmp_path / "index")}))
    assert main(["decon", "index", "-c", str(tmp_path / "index.json")]) == 0
    for i in range(3):
        docs = [{"id": f"{i}-{j}", "text": _filler(i * 10 + j, 80) + ("\n\n" + HUMANEVAL[i * 10 + j]["prompt"] if j % 2
                                                                      else "")} for j in range(10)]
        write_documents(str(tmp_path / f"c/documents/part-{i}.jsonl.gz"), docs)
    common = ["tag", "--documents", f"{tmp_path}/c/documents/*.gz", "--taggers", "decon", "--experiment", "d",
              "--tagger_options.decon.index", str(tmp_path / "index"), "--processes", "2"]
    assert main([*common, "--destination", str(tmp_path / "local")]) == 0
    assert main([*common, "--destination", str(tmp_path / "ray"), "--executor.backend", "ray"]) == 0
    for i in range(3):
        name = f"part-{i}.jsonl.gz"
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()
        assert "d__decon__match" in gzip.decompress((tmp_path / "ray" / name).read_bytes()).decode()


def test_tokens_on_ray_matches_local_bytes(tmp_path, ray_cluster):
    from dolma.cli import main
    from tests.conftest import write_documents

    for i in range(3):
        docs = [{"id": f"{i}-{j}", "text": f"Document {j} of file {i}, with some words." * (1 + j % 5)} for j in range(200)]
        write_documents(str(tmp_path / f"documents/part-{i}.jsonl.gz"), docs)
    common = ["tokens", "--documents", f"{tmp_path}/documents/*.gz", "--ring_size", "1", "--processes", "2"]
    assert main([*common, "--destination", str(tmp_path / "local")]) == 0
    assert main([*common, "--destination", str(tmp_path / "ray"), "--executor.backend", "ray"]) == 0
    local = sorted(p.name for p in (tmp_path / "local").iterdir() if not p.name.endswith(".manifest.json"))
    assert len(local) == 6  # three groups: a .npy and a .csv.gz each
    for name in local:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()


def test_dedupe_partitions_on_ray_match_local_partition_runs(tmp_path, ray_cluster):
    from dolma.cli import main
    from tests.conftest import write_documents

    for i in range(3):
        docs = [{"id": f"{i}-{j}", "text": f"shared paragraph {j % 7}\nunique paragraph {i}-{j}\n"} for j in range(60)]
        write_documents(str(tmp_path / f"corpus/documents/part-{i}.jsonl.gz"), docs)
    common = ["dedupe", "--documents", f"{tmp_path}/corpus/documents/*.gz", "--dedupe.name", "dup",
              "--dedupe.paragraphs.attribute_name", "dup_paragraphs", "--dedupe.num_partitions", "2",
              "--bloom_filter.estimated_doc_count", "10000", "--bloom_filter.desired_false_positive_rate", "0.001"]
    assert main([*common, "--bloom_filter.file", str(tmp_path / "ray.bin"), "--executor.backend", "ray"]) == 0
    def outputs():
        return {f"{i}/{p.name}": p.read_bytes() for i in range(2) for p in (tmp_path / f"corpus/attributes/dup_{i}").glob("*.gz")}

    ray_out = outputs()
    import shutil

    shutil.rmtree(tmp_path / "corpus/attributes")
    for i in range(2):
        assert main([*common, "--dedupe.partition_index", str(i), "--bloom_filter.file", str(tmp_path / f"local{i}.bin")]) == 0
    local = outputs()
    assert len(local) == 6 and ray_out == local
    assert (tmp_path / "ray-p0of2.bin").exists() and (tmp_path / "ray-p1of2.bin").exists()


def test_mix_on_ray_matches_local_bytes(tmp_path, ray_cluster):
    import yaml

    from dolma.cli import main
    from tests.conftest import write_documents

    for i in range(3):
        docs = [{"id": f"{i}-{j}", "text": "word " * (j % 30)} for j in range(300)]
        write_documents(str(tmp_path / f"corpus/documents/part-{i}.jsonl.gz"), docs)
    assert main(["tag", "--documents", f"{tmp_path}/corpus/documents/*.gz", "--experiment", "q", "--taggers",
                 "whitespace_tokenizer_v1"]) == 0
    for backend in ("local", "ray"):
        config = {"streams": [{"name": "s", "documents": [f"{tmp_path}/corpus/documents/*.gz"], "attributes": ["q"],
                               "filter": {"exclude": ["$.attributes[?(@.q__whitespace_tokenizer_v1__length[0][2] < 10)]"]},
                               "output": {"path": str(tmp_path / backend), "max_size_in_bytes": 4000}}],
                  "processes": 2, "executor": {"backend": backend}}
        (tmp_path / f"{backend}.yaml").write_text(yaml.safe_dump(config))
        assert main(["mix", "-c", str(tmp_path / f"{backend}.yaml")]) == 0
    local = sorted(p.name for p in (tmp_path / "local").glob("*.jsonl.gz"))
    assert len(local) > 1
    for name in local:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()


def test_driver_killed_on_ray_resumes_to_identical_bytes(tmp_path, ray_cluster, monkeypatch):
    from tests.resume_check import kill_and_resume, run_to_completion, snapshot
    from tests.conftest import write_documents

    for i in range(4):
        docs = [{"id": f"{i}-{j}", "text": f"Line {j} of file {i}.\n" * (10 + j % 30)} for j in range(1500)]
        write_documents(str(tmp_path / f"corpus/documents/part-{i}.jsonl.gz"), docs)
    monkeypatch.setenv("RAY_ADDRESS", ray.get_runtime_context().gcs_address)
    argv = ["tag", "--documents", f"{tmp_path}/corpus/documents/*.gz", "--experiment", "k", "--processes", "2",
            "--taggers", "c4_v2", "char_length_with_paragraphs_v1", "--executor.backend", "ray",
            "--executor.address", "auto"]
    out = str(tmp_path / "corpus/attributes")
    seconds = run_to_completion(argv)
    expected = snapshot(out)
    assert len(expected) == 4
    result = kill_and_resume(argv, out, expected, delay=seconds * 0.6)
    assert result.identical and result.leftovers == []


class _DyingStage(Stage):
    """Writes one line per unit; the process running unit ``b`` dies the first time (``os._exit``, as a killed or
    preempted worker would), which a marker file remembers across the restart."""

    name = "dying"

    def __init__(self, root: str) -> None:
        self.root = root

    def units(self) -> list:
        return []

    def is_done(self, unit) -> bool:
        return False

    def run(self, unit, progress):
        marker = os.path.join(self.root, "died-once")
        for _ in range(10):
            progress.update(docs=1, nbytes=100)
        progress.flush()
        if unit.key == "b" and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)
        with open(os.path.join(self.root, f"{unit.key}.out"), "w") as f:
            f.write(f"{unit.key} {os.getpid()}\n")
        return {"documents_in": 10}


def test_worker_killed_on_ray_is_restarted_and_its_unit_run_again(tmp_path, ray_cluster):
    from dolma.core.config import ExecutorConfig
    from dolma.core.units import WorkUnit
    from dolma.core.ray_executor import execute_on_ray

    progress = [0, 0, 0]
    outcomes = {}

    def add(files, docs, nbytes):
        progress[0] += files
        progress[1] += docs
        progress[2] += nbytes

    units = [WorkUnit(key) for key in "abcd"]
    execute_on_ray(_DyingStage(str(tmp_path)), units, 2, add, lambda u, s, v: outcomes.__setitem__(u.key, (s, v)),
                   False, ExecutorConfig(backend="ray", max_retries=2))
    assert outcomes == {key: ("done", {"documents_in": 10}) for key in "abcd"}
    assert (tmp_path / "died-once").exists()
    assert sorted(p.name for p in tmp_path.glob("*.out")) == ["a.out", "b.out", "c.out", "d.out"]
    # each unit's progress came back with it, the lost attempt's not at all
    assert progress == [4, 40, 4000]


def test_worker_that_keeps_dying_fails_its_unit_with_a_reason(tmp_path, ray_cluster):
    from dolma.core.config import ExecutorConfig
    from dolma.core.units import WorkUnit
    from dolma.core.ray_executor import execute_on_ray

    outcomes = {}
    stage = _DyingStage(str(tmp_path))
    execute_on_ray(stage, [WorkUnit("a"), WorkUnit("b")], 2, lambda *c: None,
                   lambda u, s, v: outcomes.__setitem__(u.key, (s, v)), False, ExecutorConfig(backend="ray", max_retries=0))
    assert outcomes["a"] == ("done", {"documents_in": 10})
    status, (message, _) = outcomes["b"]
    assert status == "failed" and message.startswith("worker failed on Ray: ") and "died" in message.lower()


def test_mix_with_a_target_on_ray_matches_local_bytes_in_one_session(tmp_path, ray_cluster):
    """Two passes (measuring, then mixing) in a CLI process of its own, which connects to Ray once for both."""
    import subprocess
    import sys

    import yaml

    from dolma.cli import main
    from tests.conftest import write_documents

    for i in range(2):
        docs = [{"id": f"{i}-{j}", "text": "word " * (1 + j % 40)} for j in range(300)]
        write_documents(str(tmp_path / f"corpus/documents/part-{i}.jsonl.gz"), docs)
    assert main(["tag", "--documents", f"{tmp_path}/corpus/documents/*.gz", "--experiment", "q", "--taggers",
                 "whitespace_tokenizer_v1"]) == 0
    for backend in ("local", "ray"):
        config = {"streams": [{"name": "s", "documents": [f"{tmp_path}/corpus/documents/*.gz"], "attributes": ["q"],
                               "target": {"share": 1.0}, "output": {"path": str(tmp_path / backend)}}],
                  "mixture": {"total": 20000, "unit": "bytes"}, "processes": 2,
                  "executor": {"backend": backend, "address": "auto"}}
        (tmp_path / f"{backend}.yaml").write_text(yaml.safe_dump(config))
    assert main(["mix", "-c", str(tmp_path / "local.yaml")]) == 0
    env = {**os.environ, "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    proc = subprocess.run([sys.executable, "-m", "dolma.cli", "mix", "-c", str(tmp_path / "ray.yaml")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    local = sorted(p.name for p in (tmp_path / "local").glob("*.jsonl.gz"))
    assert local
    for name in local:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "ray" / name).read_bytes()
    mixture = (tmp_path / "local/mixture.json").read_text()  # names its output folder; the rest is the same
    assert "sample_rate" in mixture and mixture.replace(f"{tmp_path}/local", f"{tmp_path}/ray") == (
        tmp_path / "ray/mixture.json"
    ).read_text()


def test_ray_session_shares_a_connection_and_leaves_local_runs_alone(ray_cluster):
    from dolma.core.config import ExecutorConfig
    from dolma.core.ray_executor import ray_session

    with ray_session(ExecutorConfig(backend="local")) as owned:
        assert owned is False
    with ray_session(ExecutorConfig(backend="ray")) as owned:  # the test's own connection is there already
        assert owned is False
    assert ray.is_initialized()


class _ResourceReportingStage(Stage):
    """Writes, for each unit, the resources Ray gave the worker that ran it."""

    name = "resources"

    def __init__(self, root: str, resources) -> None:
        self.root = root
        self.resources = resources

    def units(self) -> list:
        return []

    def is_done(self, unit) -> bool:
        return False

    def run(self, unit, progress):
        import json

        assigned = ray.get_runtime_context().get_assigned_resources()
        with open(os.path.join(self.root, f"{unit.key}.json"), "w") as f:
            json.dump(assigned, f)
        return {}


def test_workers_get_the_resources_their_stage_declares_or_the_config_sets(tmp_path, ray_cluster):
    import json

    from dolma.core.config import ExecutorConfig
    from dolma.core.units import MiB, Resources, WorkUnit
    from dolma.core.ray_executor import execute_on_ray

    def assigned(config):
        stage = _ResourceReportingStage(str(tmp_path), Resources(num_cpus=0.5, memory=64 * MiB))
        execute_on_ray(stage, [WorkUnit("u")], 1, lambda *c: None, lambda *r: None, False, config)
        return json.loads((tmp_path / "u.json").read_text())

    assert assigned(ExecutorConfig(backend="ray")) == {"CPU": 0.5, "memory": 64 * MiB}
    assert assigned(ExecutorConfig(backend="ray", num_cpus_per_worker=1, memory_per_worker_mb=32)) == {
        "CPU": 1.0, "memory": 32 * MiB
    }
    assert assigned(ExecutorConfig(backend="ray", memory_per_worker_mb=0)) == {"CPU": 0.5}


def test_a_dedupe_partition_reserves_its_bloom_filter_and_its_processes():
    import msgspec

    from dolma.dedup.config import DedupeConfig
    from dolma.dedup.partitions import partition_configs, partition_resources
    from dolma.core.config import resolve

    config = resolve(DedupeConfig, {
        "documents": ["x/documents/*.gz"], "processes": 2, "executor": {"backend": "ray"},
        "dedupe": {"name": "d", "num_partitions": 2, "paragraphs": {"attribute_name": "p"}},
        "bloom_filter": {"file": "/nonexistent/f.bin", "size_in_bytes": 1 << 30},
    })
    for partition in partition_configs(config):
        assert partition_resources(partition, config.executor) == {"num_cpus": 2, "memory": (1 << 30) + 2 * 384 * (1 << 20)}
        custom = msgspec.structs.replace(config.executor, num_cpus_per_worker=0.5, memory_per_worker_mb=100)
        assert partition_resources(partition, custom) == {"num_cpus": 1.0, "memory": (1 << 30) + 200 * (1 << 20)}


def test_work_no_node_can_hold_is_named_before_it_waits(ray_cluster, caplog):
    from dolma.core.ray_executor import warn_if_no_node_fits

    caplog.set_level("WARNING", logger="dolma")
    warn_if_no_node_fits(ray, {"num_cpus": 1, "memory": 1 << 20}, "a small worker")
    assert not caplog.records
    warn_if_no_node_fits(ray, {"num_cpus": 1, "memory": 1 << 50}, "dedupe partition 0")
    assert "dedupe partition 0 needs 1 CPU(s) and 1125899.9 GB of memory" in caplog.records[0].getMessage()


def test_quickstart_pipeline_on_ray_builds_the_same_release(tmp_path, ray_cluster):
    """The whole recipe (sample corpus, import, tag, dedupe, mix, tokens, report) on Ray and locally, into the same
    folder in turn (documents record their paths): the same documents, attributes, shards and tokens."""
    import glob
    import shutil

    import yaml

    from dolma.cli import main

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    recipe = yaml.safe_load(open(os.path.join(repo, "configs", "quickstart.yaml")))
    recipe.update(output=str(tmp_path / "release"), processes=2)
    recipe["embedded_corpus"] = {"max_files": 30, "web_pages": 3}
    recipe["mix"]["mixture"]["total"] = 40000

    def build(backend):
        recipe["executor"] = {"backend": backend}
        (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
        assert main(["pipeline", "-c", str(tmp_path / "recipe.yaml")]) == 0
        root = tmp_path / "release"
        files = {}
        for pattern in ("*/documents/*.gz", "*/attributes/*/*.gz", "*/first_occurrences/*/*.gz", "mixed/*.gz",
                        "tokens/*.npy", "tokens/*.csv.gz"):
            for path in glob.glob(str(root / pattern)):
                files[os.path.relpath(path, root)] = open(path, "rb").read()
        shutil.move(str(root), str(tmp_path / f"release-{backend}"))
        return files

    on_ray = build("ray")
    local = build("local")
    assert any(name.startswith("mixed/") for name in local) and any(name.startswith("tokens/") for name in local)
    assert on_ray == local


class _PoisonStage(_DyingStage):
    """Unit ``b`` kills the worker running it every time."""

    def run(self, unit, progress):
        if unit.key == "b":
            os._exit(1)
        with open(os.path.join(self.root, f"{unit.key}.out"), "w") as f:
            f.write(unit.key)
        return {"documents_in": 1}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_unit_that_always_kills_its_worker_fails_alone(tmp_path, ray_cluster, workers):
    """The worker it killed past its restarts is dropped; the other units still run on the workers left."""
    from dolma.core.config import ExecutorConfig
    from dolma.core.units import WorkUnit
    from dolma.core.ray_executor import execute_on_ray

    outcomes = {}
    execute_on_ray(_PoisonStage(str(tmp_path)), [WorkUnit(k) for k in "abcdefgh"], workers, lambda *c: None,
                   lambda u, s, v: outcomes.__setitem__(u.key, s), False, ExecutorConfig(backend="ray", max_retries=1))
    assert outcomes == {**{k: "done" for k in "acdefgh"}, "b": "failed"}


class _ChainedPoisonStage(_PoisonStage):
    """Units wait on each other (as dedupe's files take turns on one filter), so a lost unit must stop the run;
    unit ``b`` leaves a temporary file of its output before its worker dies."""

    rerun_lost_units = False

    def run(self, unit, progress):
        if unit.key == "b":
            with open(os.path.join(self.root, ".b.out.tmp-dead"), "w") as f:
                f.write("half")
        return super().run(unit, progress)


@pytest.mark.parametrize("backend", ["local", "ray"])
def test_a_lost_unit_of_a_chained_stage_stops_the_run_the_same_way_on_both_backends(tmp_path, ray_cluster, backend):
    """Ray and the local pool treat a lost unit alike: its temporary files go, and a stage whose units wait on
    each other fails the lost unit and everything not finished instead of running it again."""
    from dolma.core.config import ExecutorConfig
    from dolma.core.executor import execute
    from dolma.core.units import WorkUnit

    units = [WorkUnit(k, outputs=(str(tmp_path / f"{k}.out"),)) for k in "abcdef"]
    report = execute(_ChainedPoisonStage(str(tmp_path)), units, processes=2, ignore_existing=True,
                     executor=ExecutorConfig(backend=backend, max_retries=3))
    failed = dict(report.failed)
    assert "b" in failed and failed["b"].startswith("worker process died" if backend == "local" else "worker failed on Ray")
    assert "time(s)" not in failed["b"]  # not run again
    assert all(failed[k].startswith(("stopped: ", "not run: ")) for k in failed if k != "b")
    assert len(report.done) + len(report.failed) == 6
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]
