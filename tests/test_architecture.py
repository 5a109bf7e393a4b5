"""The package's shape: layers that only point down, and prediction that never loads training code."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    """pyproject.toml's import-linter contracts: layers point down, no cycles (function-level imports count)."""
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "BROKEN" not in r.stdout and "2 kept, 0 broken" in r.stdout


def test_ruff_finds_nothing():
    """pyproject.toml's ruff rules (pyflakes, pycodestyle) over the package, the tests, the benchmarks and research."""
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "benchmarks", "research"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]


def test_prediction_loads_no_training_code(table_model, tmp_path):
    code = f"""
import sys, genrefuse, genrefuse.inference
model = genrefuse.load_model({str(table_model)!r})
heavy = [m for m in ("genrefuse.training", "sklearn.metrics", "matplotlib") if m in sys.modules]
print("loaded:", heavy, model.backend)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "loaded: []" in r.stdout, r.stdout


def test_the_readme_python_api_runs(table_model, tmp_path, monkeypatch):
    """The README's "Python API" block, run as written (its model path pointed at a test model)."""
    import numpy as np
    import soundfile as sf

    text = (ROOT / "README.md").read_text()
    block = text.split("## Python API", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    run = tmp_path / "runs" / "table"
    run.mkdir(parents=True)
    (run / "model").symlink_to(table_model)
    t = np.arange(40 * 22050) / 22050
    sf.write(tmp_path / "song.wav", (0.3 * np.sin(2 * np.pi * 330 * t) * (1 + np.sin(t))).astype(np.float32), 22050)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(block, "README.md", "exec"), scope)
    assert scope["prediction"].genre in scope["model"].genres


def test_only_the_model_format_s_module_names_config_json():
    """A model's config is read through models.bundle (model_info, read_config): no other module opens it."""
    import ast

    src = ROOT / "src" / "genrefuse"
    offenders = []
    for path in src.rglob("*.py"):
        if path == src / "models" / "bundle.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value == "config.json":
                offenders.append(f"{path.relative_to(src)}:{node.lineno}")
    assert not offenders, offenders
