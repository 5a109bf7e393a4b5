"""Where the pretrained musicnn weights are, and what the network is: found and converted without
importing TensorFlow or (except to convert) PyTorch, so that ONNX Runtime inference starts fast.

The weights ship as a TensorFlow checkpoint inside the ``musicnn`` wheel; they are converted once to
safetensors in ``~/.cache/genrefuse/musicnn`` (or ``$GENREFUSE_MUSICNN_CACHE``).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..errors import ModelError
from ..features.musicnn_input import N_MELS, PATCH_FRAMES  # noqa: F401  (the input patch shape)
from ..io import cache_dir

MSD_TAGS = ("rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
            "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock", "soul",
            "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental", "punk", "oldies",
            "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist", "guitar", "Hip-Hop",
            "70s", "party", "country", "easy listening", "sexy", "catchy", "funk", "electro", "heavy metal",
            "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy")
# the MagnaTagATune-trained musicnn's tags (the wheel's configuration.MTT_LABELS)
MTT_TAGS = ("guitar", "classical", "slow", "techno", "strings", "drums", "electronic", "rock", "fast", "piano", "ambient",
            "beat", "violin", "vocal", "synth", "female", "indian", "opera", "male", "singing", "vocals", "no vocals",
            "harpsichord", "loud", "quiet", "flute", "woman", "male vocal", "no vocal", "pop", "soft", "sitar", "solo",
            "man", "classic", "choir", "voice", "new age", "dance", "male voice", "female vocal", "beats", "harp",
            "cello", "no voice", "weird", "country", "metal", "female voice", "choral")
DENSE = 200                             # penultimate features
# the wheel's checkpoints this package reads, and their tags: the default (MSD) and the second expert (MTT)
MSD, MTT = "MSD_musicnn", "MTT_musicnn"
TAGS = {MSD: MSD_TAGS, MTT: MTT_TAGS}


def wheel_checkpoint(model: str = "MSD_musicnn") -> str:
    """The checkpoint prefix inside the installed ``musicnn`` package (found without importing it:
    its ``__init__`` would import TensorFlow)."""
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the musicnn weights are not installed: pip install --no-deps musicnn==0.1.0")
    prefix = os.path.join(list(spec.submodule_search_locations)[0], model, "")    # files are '.index', '.data-*'
    if not os.path.isfile(prefix + ".index"):
        raise ModelError(f"{prefix}: the musicnn package has no {model} checkpoint")
    return prefix


def weights_cache_dir() -> Path:
    return Path(os.environ.get("GENREFUSE_MUSICNN_CACHE") or cache_dir("musicnn"))


def converted_path(model: str = MSD) -> Path:
    """Where the wheel's checkpoint of ``model`` is (or will be) converted to safetensors."""
    return weights_cache_dir() / f"{model}.safetensors"
