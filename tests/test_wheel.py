"""The installable artefact: a wheel built with `python -m build`, installed alone (not editable) into a fresh
virtual environment, predicts with the packaged model and, with the [library] extra, serves the page."""
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_the_wheel_alone_predicts_and_serves(tmp_path):
    clip = shared_path("gtzan-clips", "blues", "blues.00000.au")
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(dist.glob("genrefuse-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for part in ("genrefuse/default_model/config.json", "genrefuse/default_model/model.safetensors",
                 "genrefuse/pretrained/tagger_graph/MSD_musicnn.onnx", "genrefuse/pretrained/tagger_graph/LICENSE.md",
                 "genrefuse/service/static/index.html", "genrefuse/service/static/app.js", "beetsplug/genrefuse.py"):
        assert part in names, part

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    bin_ = venv / "bin"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), PATH=f"{bin_}:{env.get('PATH', '')}")
    pip = subprocess.run([str(bin_ / "pip"), "install", "-q", f"{wheel}[library]"], capture_output=True, text=True,
                         env=env, timeout=600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    assert subprocess.run([str(bin_ / "python"), "-c", "import torch"], env=env, capture_output=True).returncode != 0

    r = subprocess.run([str(bin_ / "genrefuse"), "predict", str(clip), "--json"], capture_output=True, text=True,
                       env=env, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["genre"] == "country"          # the packaged model's (wrong) answer on this clip
    r = subprocess.run([str(bin_ / "genrefuse"), "models"], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0 and "logreg+musicnn" in r.stdout, r.stderr

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(bin_ / "genrefuse"), "serve", "--library", str(tmp_path / "lib"), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        import httpx

        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                time.sleep(0.2)
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "genrefuse" in page.text.lower()
        assert httpx.get(url + "/docs").status_code == 200
        assert httpx.get(url + "/static/app.js").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=60)
