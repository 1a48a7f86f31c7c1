"""The vision benchmark's peers: open_clip zero-shot per crop, and a linear probe trained on crops.

Both read the regions our grounding reads (the crossing's own proposer), with
the same weights (the bundled checkpoint, loaded into open_clip's own model
without :class:`~mmreason.vision.encoder.ClipEncoder`), and both read each kind
on the box the world's labels file gives it (``truth.labels()``): an object's
type and colour on the square around it, brake lamps on the square at a
vehicle's rear, the light state on the traffic light, weather and road on the
whole picture. Only the reading differs from ours.

* **Zero-shot per crop**, as open_clip's documentation describes zero-shot
  classification: each class's prompts are embedded, normalised, averaged over
  the prompt templates and normalised again (prompt ensembling), and a crop goes
  to the class whose averaged text embedding is closest
  (``open_clip.build_zero_shot_classifier``, src/open_clip/zero_shot_classifier.py;
  https://mintlify.com/mlfoundations/open_clip/concepts/zero-shot-classification).
  The template sets tried are the world's own prompt alone, and the world's
  prompt with open_clip's ``SIMPLE_IMAGENET_TEMPLATES`` (7) or
  ``OPENAI_IMAGENET_TEMPLATES`` (80), src/open_clip/zero_shot_metadata.py
  (https://www.mintlify.com/mlfoundations/open_clip/api/zero-shot-metadata);
  for types, the crop in colour (open_clip's default) or in grey. The peer
  gets, per kind, whichever scores best on the validation renders, never on
  the evaluation renders.
* **Linear probe**, as the CLIP README's linear-probe evaluation
  (https://github.com/openai/CLIP#linear-probe-evaluation; CLIP_benchmark, the
  evaluation suite for open_clip models, runs linear probes the same way,
  https://pypi.org/project/clip-benchmark/):
  scikit-learn ``LogisticRegression(random_state=0, max_iter=1000)`` on the
  frozen, unnormalised ``encode_image`` features of the training crops, with
  ``C`` "determined via a hyperparameter sweep using a validation split" (the
  README's words): the grid below, scored on the validation renders.

Training crops come from renders of the crossing's training range (seeds
1,000,000 on, as the bundled model's), validation crops from its validation
range (2,000,000 on); both are drawn without the held-out colour × type pairs,
as the bundled model's training data was. The benchmark evaluates on 10,000,000 on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

TRAIN_SEED = 1_000_000
VALIDATION_SEED = 2_000_000
#: The C grid of the probe's sweep: the CLIP README's 0.316 and half-decades around it.
PROBE_C = (0.1, 0.316, 1.0, 3.16, 10.0)
#: The kinds every peer reads, with the crop each is read on.
KINDS = ("weather", "road", "type", "colour", "brakes", "light")
_BATCH = 256


def facing_right(bbox: Sequence[int]) -> bool:
    """Near-lane vehicles drive right, far-lane ones left (as the world's reader has it)."""
    from mmreason.worlds.crossing import LAYOUT

    return bbox[3] > (LAYOUT.far_lane_y + LAYOUT.near_lane_y) / 2


@dataclass(frozen=True, slots=True)
class RawClip:
    """open_clip's own model, preprocessing and tokenizer, with the bundled weights."""

    model: Any
    preprocess: Any
    tokenizer: Any
    device: Any

    def features(self, images: Sequence[Any]) -> Any:
        """Unnormalised ``encode_image`` features ``[n, d]`` (float32, CPU) of PIL images."""
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(images), _BATCH):
                batch = torch.stack([self.preprocess(im) for im in images[start : start + _BATCH]])
                out.append(self.model.encode_image(batch.to(self.device)).float().cpu())
        return torch.cat(out) if out else torch.empty(0, int(self.model.visual.output_dim))


def raw_open_clip(device: Any) -> RawClip:
    """The bundled checkpoint in open_clip's own objects, built and loaded without ClipEncoder."""
    from safetensors.torch import load_file

    from mmreason.vision.encoder import CHECKPOINT_FILE, build_lit_model
    from mmreason.worlds import resolve_world

    model, preprocess, tokenizer = build_lit_model()
    state = load_file(str(resolve_world("crossing").encoder / CHECKPOINT_FILE))
    scale = state.pop("logit_scale")
    model.visual.load_state_dict({k.removeprefix("visual."): v for k, v in state.items()})
    model.logit_scale.data.copy_(scale.reshape(()))
    return RawClip(model.to(device).eval(), preprocess, tokenizer, device)


# ------------------------------------------------------------------------------- labelled crops


@dataclass
class CropBank:
    """Frozen features of labelled crops, by (kind, how the crop is cut), encoded in batches."""

    raw: RawClip
    pending: dict[tuple[str, str], list[tuple[Any, str]]] = field(default_factory=lambda: defaultdict(list))
    feats: dict[tuple[str, str], list[Any]] = field(default_factory=lambda: defaultdict(list))
    labels: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, key: tuple[str, str], image: Any, label: str) -> None:
        self.pending[key].append((image, label))
        if len(self.pending[key]) >= _BATCH:
            self._flush(key)

    def _flush(self, key: tuple[str, str]) -> None:
        items = self.pending.pop(key, [])
        if items:
            self.feats[key].append(self.raw.features([im for im, _ in items]))
            self.labels[key].extend(label for _, label in items)

    def arrays(self, key: tuple[str, str]) -> tuple[Any, list[str]]:
        """``(features [n, d] numpy float32, labels)`` of one key."""
        import torch

        self._flush(key)
        return torch.cat(self.feats[key]).numpy(), list(self.labels[key])


def labelled_crops(
    raw: RawClip,
    seeds: Iterable[int],
    held_out: tuple[tuple[str, str], ...],
    spell: Callable[[str, str], str],
) -> CropBank:
    """The crops of the renders of ``seeds`` as the world's labels file cuts them, by kind.

    ``spell(kind, value_iri)`` turns a label's value into the truth's spelling. Types are
    cut twice, in colour and in grey (the zero-shot peer chooses one on validation).
    """
    from mmreason.vision.proposals import greyscale, square_crop
    from mmreason.worlds.crossing import MR, render_scene

    kind_of = {
        "a": "type",
        str(MR.colour): "colour",
        str(MR.brakeLights): "brakes",
        str(MR.lightState): "light",
        str(MR.weather): "weather",
        str(MR.surface): "road",
    }
    bank = CropBank(raw)
    for seed in seeds:
        image, truth = render_scene(seed, exclude_pairs=held_out)
        for box, prop, value in truth.labels():
            kind = kind_of[prop]
            label = spell(kind, value)
            if box is None:
                bank.add((kind, "whole"), image, label)
                continue
            crop = square_crop(image, box, pad=0.2)
            bank.add((kind, "colour"), crop, label)
            if kind == "type":
                bank.add((kind, "grey"), greyscale(crop), label)
    return bank


# ------------------------------------------------------------------------------- zero-shot peer


@dataclass(frozen=True, slots=True)
class ZeroShot:
    """One kind's zero-shot classifier: the text weights, the classes, and how it was chosen."""

    kind: str
    classes: tuple[str, ...]  # in the truth's spelling
    weights: Any  # [d, n_classes], normalised
    scale: float  # the model's logit scale, for probabilities
    templates: str  # which template set
    crop: str  # "colour", "grey" or "whole"
    validation: dict[str, float]  # accuracy of every option tried

    def predict(self, features: Any) -> list[str]:
        import torch

        if len(features) == 0:
            return []
        x = torch.nn.functional.normalize(torch.as_tensor(features), dim=-1)
        return [self.classes[int(i)] for i in (x @ self.weights).argmax(dim=1)]

    def probability(self, features: Any, label: str) -> list[float]:
        """P(``label``) per row of ``features``: softmax of the logit-scaled cosine similarities."""
        import torch

        if len(features) == 0:
            return []
        x = torch.nn.functional.normalize(torch.as_tensor(features), dim=-1)
        return (self.scale * x @ self.weights).softmax(dim=-1)[:, self.classes.index(label)].tolist()


def _template_sets(prompt_of: dict[str, str]) -> dict[str, tuple[Callable[[str], str], ...]]:
    from open_clip import OPENAI_IMAGENET_TEMPLATES, SIMPLE_IMAGENET_TEMPLATES

    own = prompt_of.__getitem__
    return {
        "world prompt": (own,),
        "world prompt + open_clip SIMPLE_IMAGENET_TEMPLATES (8)": (own, *SIMPLE_IMAGENET_TEMPLATES),
        "world prompt + open_clip OPENAI_IMAGENET_TEMPLATES (81)": (own, *OPENAI_IMAGENET_TEMPLATES),
    }


def _class_name(prompt: str) -> str:
    # The class name the templates wrap: the world's prompt without its article.
    for article in ("a ", "an "):
        if prompt.startswith(article):
            return prompt[len(article) :]
    return prompt


def zero_shot(
    raw: RawClip,
    kind: str,
    classes: Sequence[str],
    prompts: Sequence[str],
    validation: CropBank,
) -> ZeroShot:
    """The zero-shot classifier of one kind, its template set (and crop) chosen on ``validation``."""
    import numpy as np
    from open_clip import build_zero_shot_classifier

    names = [_class_name(p) for p in prompts]
    prompt_of = dict(zip(names, prompts, strict=True))
    crops = (
        ("colour", "grey") if kind == "type" else ("whole",) if kind in ("weather", "road") else ("colour",)
    )
    scale = float(raw.model.logit_scale.detach().exp())
    options = []
    for name, templates in _template_sets(prompt_of).items():
        weights = build_zero_shot_classifier(
            raw.model, raw.tokenizer, names, templates, num_classes_per_batch=None, device=raw.device
        ).cpu()
        for crop in crops:
            x, y = validation.arrays((kind, crop))
            option = ZeroShot(kind, tuple(classes), weights, scale, name, crop, {})
            accuracy = float(np.mean([p == t for p, t in zip(option.predict(x), y, strict=True)]))
            options.append((accuracy, option))
    # The first of the best: the world's own prompt wins a tie, then the colour crop.
    best = max(options, key=lambda pair: pair[0])[1]
    scores = {f"{o.templates}, {o.crop} crop": a for a, o in options}
    return ZeroShot(kind, best.classes, best.weights, scale, best.templates, best.crop, scores)


# ------------------------------------------------------------------------------- linear probe


@dataclass(frozen=True, slots=True)
class Probe:
    """One kind's logistic-regression probe on frozen features, with its swept C."""

    kind: str
    crop: str
    model: Any
    c: float
    validation: dict[float, float]
    train_size: int

    def predict(self, features: Any) -> list[str]:
        if len(features) == 0:
            return []
        return [str(v) for v in self.model.predict(features)]

    def probability(self, features: Any, label: str) -> list[float]:
        """P(``label``) per row of ``features``, as the probe's logistic model gives it."""
        if len(features) == 0:
            return []
        column = [str(c) for c in self.model.classes_].index(label)
        return self.model.predict_proba(features)[:, column].tolist()


def linear_probe(kind: str, crop: str, train: CropBank, validation: CropBank) -> Probe:
    """A probe for ``kind`` on ``crop`` features, C swept over :data:`PROBE_C` on ``validation``."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x, y = train.arrays((kind, crop))
    vx, vy = validation.arrays((kind, crop))
    fits = []
    for c in PROBE_C:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = LogisticRegression(random_state=0, C=c, max_iter=1000).fit(x, y)
        fits.append((float(np.mean(model.predict(vx) == np.asarray(vy))), c, model))
    # The first of the best: the smallest C (the strongest regularisation) wins a tie.
    _, c, model = max(fits, key=lambda fit: fit[0])
    return Probe(kind, crop, model, c, {c: a for a, c, _ in fits}, len(y))


# ------------------------------------------------------------------------------- reading a scene


@dataclass(frozen=True, slots=True)
class SceneReading:
    """What one method read off one picture, in the truth's spelling.

    ``objects`` are the road users found: ``(box, type, colour or None, brake lamps or None)``.
    """

    weather: str | None
    road: str | None
    light: str | None
    objects: tuple[tuple[tuple[int, ...], str, str | None, str | None], ...]


def proposal_features(raw: RawClip, image: Any, boxes: Sequence[tuple[int, ...]]) -> dict[str, Any]:
    """Features of a picture's proposals, by how the crop is cut (as the labels file cuts them)."""
    from mmreason.vision.proposals import greyscale, rear_box, square_crop

    colour = [square_crop(image, b, pad=0.2) for b in boxes]
    rear = [square_crop(image, rear_box(b, facing_right=facing_right(b)), pad=0.2) for b in boxes]
    features = raw.features([image, *colour, *(greyscale(c) for c in colour), *rear])
    n = len(boxes)
    return {
        "whole": features[:1],
        "colour": features[1 : 1 + n],
        "grey": features[1 + n : 1 + 2 * n],
        "rear": features[1 + 2 * n :],
    }


def read_scene(
    classifiers: dict[str, Any],
    features: dict[str, Any],
    boxes: Sequence[tuple[int, ...]],
    *,
    background: frozenset[str],
    traffic_light: str,
    vehicles: frozenset[str],
) -> SceneReading:
    """One peer's reading of a picture from its proposals' features.

    As grounding does: proposals read as a background class drop out; the traffic light
    is the proposal likeliest to be one among those read as one, and its state is read on
    it; colour and brake lamps are read on the proposals read as vehicles.
    """
    type_crop = classifiers["type"].crop
    types = classifiers["type"].predict(features[type_crop])
    weather = classifiers["weather"].predict(features["whole"])[0]
    road = classifiers["road"].predict(features["whole"])[0]
    colours = classifiers["colour"].predict(features["colour"])
    lamps = classifiers["brakes"].predict(features["rear"])
    lights = [i for i, t in enumerate(types) if t == traffic_light]
    light = None
    if lights:
        p = classifiers["type"].probability(features[type_crop], traffic_light)
        signal = max(lights, key=lambda i: p[i])
        light = classifiers["light"].predict(features["colour"][signal : signal + 1])[0]
    objects = tuple(
        (
            tuple(boxes[i]),
            t,
            colours[i] if t in vehicles else None,
            lamps[i] if t in vehicles else None,
        )
        for i, t in enumerate(types)
        if t not in background and t != traffic_light
    )
    return SceneReading(weather, road, light, objects)
