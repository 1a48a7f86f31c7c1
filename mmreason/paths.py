"""Where the bundled graphs, scenarios and model weights live."""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_graphs_dir", "bundled_models_dir", "bundled_scenarios_dir", "project_root"]

_PACKAGE = Path(__file__).resolve().parent


def project_root() -> Path:
    """The checkout that holds ``graphs/`` and ``scenarios/`` beside the package."""
    return _PACKAGE.parent


def bundled_graphs_dir() -> Path:
    """The shipped RDF graphs and SCM files (``graphs/``)."""
    return project_root() / "graphs"


def bundled_scenarios_dir() -> Path:
    """The shipped what-if scenarios and their images (``scenarios/``)."""
    return project_root() / "scenarios"


def bundled_models_dir() -> Path:
    """The bundled model weights (safetensors) shipped inside the package."""
    return _PACKAGE / "models"
