"""How numbers are shown to a person, the same in every face (CLI lines, the beets plugin's log, ``tag``'s report);
JSON gives them to 6 decimals. Imports nothing heavy: the command line's ``--help`` loads it."""
from __future__ import annotations


def confidence_text(confidence: float, threshold: float) -> str:
    """How every face prints a confidence: to 2 decimals, or as many more as it takes not to read as the threshold
    it falls under (0.578 under 0.5783 is "0.578 unsure", not "0.58 unsure"). JSON gives 6 decimals."""
    digits = 2
    while digits < 6 and confidence != threshold and round(confidence, digits) == round(threshold, digits):
        digits += 1
    return f"{confidence:.{digits}f}"
