import pytest
import torch

from mmreason import DeviceUnavailableError, InvalidInputError, resolve_device


def test_auto_picks_cuda_only_when_available():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device().type == expected


@pytest.mark.parametrize("device", ["cpu", " CPU ", "Cpu", torch.device("cpu")])
def test_cpu_is_always_available(device):
    assert resolve_device(device) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", " Cuda:3 ", torch.device("cuda", 1)])
def test_cuda_without_cuda_names_what_was_asked(device):
    with pytest.raises(
        DeviceUnavailableError, match=r"(?i)device=.*cuda.* was asked for but CUDA is not available"
    ):
        resolve_device(device)


@pytest.mark.gpu
def test_cuda_index_past_the_last_gpu_is_refused():
    count = torch.cuda.device_count()
    assert resolve_device("cuda:0").type == "cuda"
    with pytest.raises(DeviceUnavailableError, match=f"has {count} CUDA device"):
        resolve_device(f"cuda:{count}")


@pytest.mark.parametrize(
    ("device", "error", "match"),
    [
        ("gpu", InvalidInputError, "device='gpu' is not a device"),
        ("cuda:x", InvalidInputError, "is not a device"),
        (3.5, InvalidInputError, "found float"),
        ("meta", DeviceUnavailableError, "not supported"),
    ],
)
def test_bad_device_settings_are_refused_clearly(device, error, match):
    with pytest.raises(error, match=match):
        resolve_device(device)
