"""Shared fixtures of the vision tests: the bundled encoder, loaded once."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def encoder():
    from mmreason.vision.encoder import ClipEncoder

    return ClipEncoder.default(device="cpu")
