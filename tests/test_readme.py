"""The README's library example runs as written (load -> split -> model -> fit with a config
-> evaluate under both protocols -> save -> load -> top 10 with titles for raw user 196)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import load_or_skip

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- BEGIN library example -->", "<!-- END library example -->"


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    assert BEGIN in text and END in text, "README.md lost its library example markers"
    block = text.split(BEGIN, 1)[1].split(END, 1)[0]
    code = re.search(r"```python\n(.*?)```", block, re.S)
    assert code, "the library example is not a ```python block"
    return code.group(1)


def test_the_example_imports_nothing_from_the_cli():
    code = readme_example()
    assert "graphrec.cli" not in code and "experiments" not in code
    for step in ("load_movielens(", "temporal_split(", ".fit(", "TrainConfig(", "evaluate(",
                 ".save(", "Recommender.load(", ".recommend(196"):  # fmt: skip
        assert step in code, step


def run_example(capsys) -> list[str]:
    exec(compile(readme_example(), "README.md", "exec"), {"__name__": "readme"})
    return capsys.readouterr().out.strip().splitlines()


def test_readme_example_on_a_synthetic_graph(tmp_path, monkeypatch, capsys):
    """The same code with the data set swapped for a small synthetic graph that has a user
    196: fast, and needs no download."""
    import graphrec.data
    from graphrec.data.synthetic import synthetic_graph

    monkeypatch.setattr(graphrec.data, "load_movielens", lambda name: synthetic_graph(
        250, 300, 6000, seed=1))  # fmt: skip
    monkeypatch.chdir(tmp_path)
    lines = run_example(capsys)
    assert [line.split()[0] for line in lines[:2]] == ["sampled", "full"]
    assert "'protocol': 'sampled'" in lines[0] and "'protocol': 'full'" in lines[1]
    titles = lines[2:]
    assert len(titles) == 10 and all(re.search(r"Movie \d+ \(\d{4}\)$", t) for t in titles)
    assert (tmp_path / "runs/my-neumf/weights.pt").is_file()


@pytest.mark.realdata
@pytest.mark.slow
def test_readme_example_on_ml100k(tmp_path, monkeypatch, capsys):
    load_or_skip("ml-100k", verbose=False)  # skip only if no copy and no network
    monkeypatch.chdir(tmp_path)
    lines = run_example(capsys)
    sampled = ast.literal_eval(lines[0].split(" ", 1)[1])  # the printed metrics dict
    assert sampled["protocol"] == "sampled" and sampled["users"] == 943
    assert sampled["ndcg@10"] > 0.3  # ItemPop scores .23 here, NeuMF about .37
    titles = lines[2:]
    assert len(titles) == 10 and all(re.search(r"\(\d{4}\)$", t) for t in titles)


OWN_BEGIN, OWN_END = "<!-- BEGIN own-data example -->", "<!-- END own-data example -->"


def test_readme_own_data_example_runs(tmp_path, monkeypatch, capsys):
    """The README's ten-line CSV example runs as written: three users, two string ids for
    ana, none of them one of her train films (alien, aliens)."""
    text = (ROOT / "README.md").read_text()
    assert OWN_BEGIN in text and OWN_END in text, "README.md lost its own-data example markers"
    code = re.search(r"```python\n(.*?)```", text.split(OWN_BEGIN, 1)[1].split(OWN_END, 1)[0], re.S)
    assert code and "load_interactions(" in code.group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code.group(1), "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert out.startswith("3 users; for ana: ")
    recs = ast.literal_eval(out.split(": ", 1)[1])
    assert len(recs) == 2 and set(recs) <= {"blade runner", "heat", "ronin"}
