import inspect

import mmreason


def test_all_is_exactly_the_public_names():
    public = {
        name
        for name, value in vars(mmreason).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    public.add("__version__")
    assert sorted(mmreason.__all__) == sorted(public)


def test_every_exported_name_exists():
    for name in mmreason.__all__:
        assert hasattr(mmreason, name), name


def test_version_matches_installed_metadata():
    from importlib import metadata

    assert metadata.version("mmreason") == mmreason.__version__
