import inspect
import subprocess
import sys

import mmreason


def _public_names() -> set[str]:
    names = {
        name
        for name in dir(mmreason)
        if not name.startswith("_") and name not in {"annotations", "importlib", "TYPE_CHECKING", "Any"}
    }
    return {name for name in names if not inspect.ismodule(getattr(mmreason, name))} | {"__version__"}


def test_all_is_exactly_the_public_names():
    assert sorted(mmreason.__all__) == sorted(_public_names())


def test_every_exported_name_resolves():
    for name in mmreason.__all__:
        assert getattr(mmreason, name) is not None, name


def test_lazy_names_are_the_objects_of_their_modules():
    from mmreason.causal import SCM
    from mmreason.reasoner import Reasoner

    assert mmreason.SCM is SCM and mmreason.Reasoner is Reasoner


def test_import_loads_no_model_library():
    heavy = ("torch", "open_clip", "dowhy", "pgmpy")
    code = f"import sys, mmreason; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_version_matches_installed_metadata():
    from importlib import metadata

    assert metadata.version("mmreason") == mmreason.__version__
