"""One ``device`` setting for every model: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from mmreason.errors import DeviceUnavailableError, InvalidInputError

if TYPE_CHECKING:
    import torch

DeviceLike = Union[str, "torch.device"]

__all__ = ["DeviceLike", "resolve_device"]


def resolve_device(device: DeviceLike = "auto") -> torch.device:
    """Turn a device setting into a :class:`torch.device`, never falling back silently.

    Names are read without regard to case or surrounding spaces (``" CPU "`` is
    the CPU). ``"auto"`` is CUDA when it is available, else the CPU. An explicit CUDA
    request on a machine without CUDA (or with fewer GPUs than the index asked
    for) raises :class:`~mmreason.DeviceUnavailableError` naming what was asked.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    import torch

    if isinstance(device, str) and device.strip().lower() == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise InvalidInputError(
            f"device must be 'auto', 'cpu', 'cuda', 'cuda:N' or a torch.device, found {type(device).__name__}"
        )
    try:
        resolved = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except (RuntimeError, ValueError) as exc:
        raise InvalidInputError(
            f"device={device!r} is not a device; expected 'auto', 'cpu', 'cuda' or 'cuda:N'"
        ) from exc
    if resolved.type == "cpu":
        return resolved
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceUnavailableError(f"device={device!r} was asked for but CUDA is not available")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise DeviceUnavailableError(
                f"device={device!r} was asked for but this machine has {count} CUDA device(s)"
            )
        return resolved
    raise DeviceUnavailableError(f"device={device!r} is not supported; use 'auto', 'cpu' or 'cuda[:N]'")
