"""The Reasoner: image -> grounded facts -> KG -> SCM -> an answer that says how it was reached."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmreason.answer import Answer, Step
from mmreason.devices import DeviceLike, resolve_device
from mmreason.errors import QuestionNotUnderstoodError
from mmreason.paths import bundled_graphs_dir

if TYPE_CHECKING:
    import torch

    from mmreason.causal.bindings import Bindings
    from mmreason.causal.scm import SCM
    from mmreason.gnn.complete import Completion
    from mmreason.gnn.predictor import LinkPredictor
    from mmreason.kg.graph import KnowledgeGraph
    from mmreason.qa.executor import Executor
    from mmreason.qa.parser import QuestionParser
    from mmreason.scenarios import Scenario, WhatIfResult
    from mmreason.vision.encoder import ClipEncoder
    from mmreason.vision.grounding import SceneGraph
    from mmreason.vision.images import ImageLike

__all__ = ["Conversation", "Reasoner"]


class Reasoner:
    """Answer image-grounded and causal questions over one KG and its SCM.

    >>> r = Reasoner.default(device="cpu")
    >>> from mmreason.vision.world import render_scene
    >>> image, truth = render_scene(2)
    >>> r.ask(image, "Is the road wet?").value == (truth.road == "wet")
    True
    """

    def __init__(
        self,
        *,
        kg: KnowledgeGraph,
        scm: SCM,
        bindings: Bindings,
        encoder: ClipEncoder | None = None,
        device: DeviceLike = "auto",
        samples: int = 2000,
        seed: int = 0,
        predictor: LinkPredictor | str | Path | None = None,
        min_score: float = 0.5,
        top_k: int = 10,
    ) -> None:
        """``predictor`` (a trained link predictor or its checkpoint folder) completes the KG
        once: its ``top_k`` best tails per (head, relation) of calibrated probability ≥
        ``min_score`` go to the ``predicted`` graph, where answers read them, as scored ``gnn``
        steps, only when asserted facts are silent."""
        from mmreason.qa.executor import Executor

        self.device: torch.device = resolve_device(device)
        self.kg = kg
        self.scm = scm
        self.bindings = bindings
        self._encoder = encoder
        self.completion: Completion | None = None
        if predictor is not None:
            from mmreason.gnn.complete import complete
            from mmreason.gnn.predictor import LinkPredictor

            if not isinstance(predictor, LinkPredictor):
                predictor = LinkPredictor.load(predictor, device=self.device)
            self.completion = complete(kg, predictor, min_score=min_score, top_k=top_k)
        self.executor: Executor = Executor(kg=kg, scm=scm, bindings=bindings, samples=samples, seed=seed)
        self._parser: QuestionParser | None = None
        self._scenes: dict[str, SceneGraph] = {}

    @classmethod
    def default(
        cls,
        *,
        device: DeviceLike = "auto",
        predictor: LinkPredictor | str | Path | None = None,
        min_score: float = 0.5,
    ) -> Reasoner:
        """The bundled world: ``graphs/crossing.ttl``, ``crossing.scm.toml`` and the bundled CLIP model.

        ``predictor``: a link predictor trained on the crossing KG (``mmreason train-gnn``), to add
        its predicted facts (see :class:`Reasoner`).
        """
        from mmreason.causal.bindings import Bindings
        from mmreason.causal.scm import SCM
        from mmreason.kg.graph import KnowledgeGraph

        resolved = resolve_device(device)
        kg = KnowledgeGraph.open()
        kg.load(bundled_graphs_dir() / "crossing.ttl")
        scm = SCM.from_file(bundled_graphs_dir() / "crossing.scm.toml", device=resolved)
        bindings = Bindings.from_file(bundled_graphs_dir() / "crossing.bindings.toml", scm=scm)
        return cls(
            kg=kg, scm=scm, bindings=bindings, device=resolved, predictor=predictor, min_score=min_score
        )

    # -------------------------------------------------------------- components

    @property
    def encoder(self) -> ClipEncoder:
        if self._encoder is None:
            from mmreason.vision.encoder import ClipEncoder

            self._encoder = ClipEncoder.default(device=self.device)
        return self._encoder

    @property
    def parser(self) -> QuestionParser:
        if self._parser is None:
            from mmreason.qa.lexicon import Lexicon
            from mmreason.qa.parser import QuestionParser

            lexicon = Lexicon.from_kg(self.kg, scm=self.scm, bindings=self.bindings)
            self._parser = QuestionParser(lexicon)
        return self._parser

    def ground(self, image: ImageLike, *, image_id: str | None = None) -> SceneGraph:
        """Ground ``image`` once (cached by its pixels) and add its facts to the KG in a graph of its own."""
        import hashlib

        from mmreason.kg.vocab import scene_graph_iri
        from mmreason.vision.grounding import ground
        from mmreason.vision.images import load_image

        picture = load_image(image)
        key = hashlib.sha256(f"{picture.mode}{picture.size}".encode() + picture.tobytes()).hexdigest()
        if key not in self._scenes:
            if image_id is None:
                image_id = Path(image).stem if isinstance(image, (str, Path)) else f"image-{key[:12]}"
            scene = ground(picture, encoder=self.encoder, image_id=image_id)
            self.kg.add(scene.to_rdf(), graph=scene_graph_iri(scene.image_id))
            self._scenes[key] = scene
        return self._scenes[key]

    # ---------------------------------------------------------------- asking

    def ask(self, image: ImageLike, question: str) -> Answer:
        """Answer one question about ``image``; the answer carries every step behind it."""
        return self.conversation(image).ask(question)

    def conversation(self, image: ImageLike) -> Conversation:
        """A multi-turn dialogue about one image: follow-ups resolve against earlier turns."""
        return Conversation(self, image)

    def what_if(self, scenario: str | Path | Scenario) -> WhatIfResult:
        """Run a scenario file (``docs/scenario-format.md``): factual vs. what-if per query."""
        from mmreason.scenarios import Scenario, load_scenario, run_scenario

        loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        image_evidence: Mapping[str, Any] = {}
        image_soft: Mapping[str, Mapping[Any, float]] = {}
        steps: tuple[Step, ...] = ()
        image = _scenario_image(loaded)
        scene = None
        if image is not None:
            from mmreason.vision.images import load_image

            image = load_image(image)
            scene = self.ground(image, image_id=loaded.name.replace(" ", "-"))
            found = self.executor.evidence(scene)
            image_evidence, image_soft, steps = found.evidence, found.soft_evidence, found.steps
        return run_scenario(
            loaded,
            scm=self.scm,
            image_evidence=image_evidence,
            image_soft_evidence=image_soft,
            steps=steps,
            image=image,
            scene=scene,
            samples=self.executor.samples,
            seed=self.executor.seed,
        )


def _scenario_image(scenario: Scenario) -> Any:
    if scenario.image_path is not None:
        return scenario.image_path
    if scenario.render_seed is not None:
        from mmreason.vision.world import render_scene

        return render_scene(scenario.render_seed)[0]
    return None


@dataclass
class Conversation:
    """Questions about one image; each turn may refer to the last thing asked about."""

    reasoner: Reasoner
    image: Any
    turns: list[Answer] = field(default_factory=list)
    _subject: str | None = None  # the noun of the last object question ("car")

    def ask(self, question: str) -> Answer:
        scene = self.reasoner.ground(self.image)
        read = [
            f"{n} {a.value} (p={a.confidence:.3f})"
            for n, a in (("weather", scene.weather), ("road", scene.road), ("light", scene.light))
            if a is not None
        ]
        ground_step = Step(
            "ground",
            f"{len(scene.objects)} objects; {', '.join(read)} [{scene.model}]",
            min(
                [scene.weather.confidence, scene.road.confidence]
                + ([scene.light.confidence] if scene.light else [])
            ),
        )
        # A question is read as written first; only when that fails do words like "it" or
        # "the one" stand for what the last turn was about ("is it raining?" keeps its "it").
        text = question
        try:
            program = self.reasoner.parser.parse(question)
        except QuestionNotUnderstoodError:
            text = self._resolve_references(question)
            if text == question:
                raise
            program = self.reasoner.parser.parse(text)
        parse_step = Step(
            "parse", f"{program!r}" + (f" (read as {text!r})" if text != question else ""), program.confidence
        )
        answer = self.reasoner.executor.run(program, scene, steps=(ground_step, parse_step))
        self._remember(program)
        self.turns.append(answer)
        return answer

    def _resolve_references(self, question: str) -> str:
        if self._subject is None:
            return question
        words = question.rstrip("?").split()
        out = []
        for i, word in enumerate(words):
            lower = word.lower()
            if lower == "one" and i > 0 and words[i - 1].lower() in ("the", "that"):
                out.append(self._subject)
            elif lower in ("it", "them", "they") and i > 0:
                out.append(f"the {self._subject}")
            else:
                out.append(word)
        return " ".join(out) + ("?" if question.rstrip().endswith("?") else "")

    def _remember(self, program: Any) -> None:
        for op in program.ops:
            if op.name == "select" and not op.args["cls"].endswith(("#Scene", "#Road")):
                self._subject = self.reasoner.executor.label(op.args["cls"])
                return
