"""Which optional part of the installation (``pip install 'genrefuse[EXTRA]'``) brings which module, for the
one-line error a command gives when its extra is missing. The extras themselves are pyproject.toml's
``[project.optional-dependencies]``; a test checks that every extra named here is one of them."""
from __future__ import annotations

# top-level module -> the extra that installs it (pyproject.toml's [project.optional-dependencies])
EXTRA_OF = {
    "torch": "train", "librosa": "train", "resampy": "train", "sklearn": "train", "matplotlib": "train",
    "audiomentations": "train", "onnx": "train", "musicnn": "train",
    "sqlalchemy": "library", "fastapi": "library", "fastapi_offline": "library", "uvicorn": "library",
    "multipart": "library", "python_multipart": "library", "scipy": "library", "starlette": "library",
    "implicit": "recommend",
    "dask": "dask", "distributed": "dask",
}


def extra_for(module: str | None) -> str | None:
    """The extra that provides ``module`` (a dotted name is judged by its top level), or None."""
    return EXTRA_OF.get((module or "").split(".")[0])


def missing_extra_message(command: str, exc: ModuleNotFoundError) -> str | None:
    """One line for a command that needs an extra that is not installed, or None when ``exc`` is not that."""
    extra = extra_for(exc.name)
    if extra is None:
        return None
    return (f"`genrefuse {command}` needs the [{extra}] extra, which is not installed (no module {exc.name}): "
            f"`make install-dev` in a checkout (everything), or pip install 'genrefuse[{extra}]'")
