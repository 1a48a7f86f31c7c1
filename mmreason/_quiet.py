"""Loading a local model quietly: no progress bars or load reports from transformers or open_clip."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_model_loading"]


@contextmanager
def quiet_model_loading() -> Iterator[None]:
    """Silence transformers' and open_clip's chatter while a local model loads, then restore it.

    The weights are local and their load reports (for example the MiniLM pooler
    that a mean-pooled text tower leaves out) are expected, so they would only
    bury the answer a user asked for.
    """
    from transformers.utils import logging as hf_logging

    root = logging.getLogger()
    root_level = root.level
    hf_level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    root.setLevel(logging.ERROR)
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        root.setLevel(root_level)
        hf_logging.set_verbosity(hf_level)
        if bars:
            hf_logging.enable_progress_bar()
