"""The Reasoner: image -> grounded facts -> KG -> SCM -> an answer that says how it was reached.

A Reasoner serves one world (:mod:`mmreason.worlds`): its ontology in the KG,
its SCM and bindings, its vision schema and CLIP model. Nothing here names a
world's concepts; everything is read by the IRIs the world's files name.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmreason.answer import Answer, Step
from mmreason.devices import DeviceLike, resolve_device
from mmreason.errors import ImageError, WorldError

#: File suffixes read as clips (through the world's clip reader) rather than as pictures.
VIDEO_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm"})

if TYPE_CHECKING:
    import torch

    from mmreason.causal.bindings import Bindings
    from mmreason.causal.scm import SCM
    from mmreason.gnn.complete import Completion
    from mmreason.gnn.predictor import LinkPredictor
    from mmreason.kg.graph import KnowledgeGraph
    from mmreason.qa.compose import CompositionalParser
    from mmreason.qa.executor import Executor
    from mmreason.qa.parser import QuestionParser
    from mmreason.scenarios import Scenario, WhatIfResult
    from mmreason.vision.encoder import ClipEncoder
    from mmreason.vision.grounding import SceneGraph
    from mmreason.vision.images import ImageLike
    from mmreason.vision.vocabulary import Vocabulary
    from mmreason.worlds import World

__all__ = ["Conversation", "Reasoner"]


class Reasoner:
    """Answer image-grounded, knowledge and causal questions about one world.

    Threads may share a Reasoner: it answers one question at a time (a lock serialises
    grounding, asking and what-if runs, whose caches and KG writes are shared).

    A world without pictures: Pearl's firing squad, an SCM and an empty KG.

    >>> from mmreason import SCM, KnowledgeGraph
    >>> from mmreason.paths import bundled_graphs_dir
    >>> scm = SCM.from_file(bundled_graphs_dir() / "firing_squad.scm.toml", device="cpu")
    >>> r = Reasoner(kg=KnowledgeGraph.open(), scm=scm, device="cpu")
    >>> answer = r.ask(None, "Given the prisoner died, did the court order the execution?")
    >>> answer.value, round(answer.confidence, 4)  # p / (1 - (1 - p)(1 - q)) = 0.7 / 0.76
    (True, 0.9211)
    """

    def __init__(
        self,
        *,
        kg: KnowledgeGraph,
        scm: SCM | None = None,
        bindings: Bindings | None = None,
        encoder: ClipEncoder | None = None,
        world: World | None = None,
        device: DeviceLike = "auto",
        samples: int = 2000,
        seed: int = 0,
        predictor: LinkPredictor | str | Path | None = None,
        min_score: float = 0.5,
        top_k: int = 10,
    ) -> None:
        """``world`` gives the vision schema, the encoder and the examples; without it the
        Reasoner answers knowledge and causal questions only.

        ``predictor`` (a trained link predictor or its checkpoint folder) completes the KG
        once: its ``top_k`` best tails per (head, relation) of calibrated probability ≥
        ``min_score`` go to the ``predicted`` graph, where answers read them, as scored ``gnn``
        steps, only when asserted facts are silent."""
        from mmreason.qa.executor import Executor

        self.device: torch.device = resolve_device(device)
        self.kg = kg
        self.scm = scm
        self.bindings = bindings
        self.world = world
        self._encoder = encoder
        self.completion: Completion | None = None
        if predictor is not None:
            from mmreason.gnn.complete import complete
            from mmreason.gnn.predictor import LinkPredictor

            if not isinstance(predictor, LinkPredictor):
                predictor = LinkPredictor.load(predictor, device=self.device)
            self.completion = complete(kg, predictor, min_score=min_score, top_k=top_k)
        vocabulary = self.vocabulary
        self.executor: Executor = Executor(
            kg=kg,
            scm=scm,
            bindings=bindings,
            vocabulary=vocabulary,
            focus=world.vision.focus if world is not None and world.vision is not None else None,
            samples=samples,
            seed=seed,
        )
        self._parser: QuestionParser | None = None
        self._compositional: CompositionalParser | None = None
        self._scenes: dict[str, SceneGraph] = {}
        self._others: dict[str, Reasoner] = {}
        self._lock = threading.RLock()

    @classmethod
    def from_world(
        cls,
        world: World | str | Path | None = None,
        *,
        device: DeviceLike = "auto",
        kg: KnowledgeGraph | None = None,
        predictor: LinkPredictor | str | Path | None = None,
        min_score: float = 0.5,
        samples: int = 2000,
        seed: int = 0,
    ) -> Reasoner:
        """A Reasoner for a world folder (or a bundled world's name; None: the default world).

        ``kg`` is the store to load the world's ontology into (default: a new in-memory one).

        Raises:
            WorldError: the world folder is refused (the message names the file, line and key).
        """
        from mmreason.causal.bindings import Bindings
        from mmreason.causal.scm import SCM
        from mmreason.kg.graph import KnowledgeGraph
        from mmreason.worlds import resolve_world

        loaded = resolve_world(world)
        resolved = resolve_device(device)
        if kg is None:
            kg = KnowledgeGraph.open()
        for path in loaded.ontology:
            kg.load(path)
        scm = SCM.from_file(loaded.scm, device=resolved) if loaded.scm is not None else None
        bindings = None
        if loaded.bindings is not None and scm is not None:
            bindings = Bindings.from_file(loaded.bindings, scm=scm, prefixes=loaded.prefixes)
        return cls(
            kg=kg,
            scm=scm,
            bindings=bindings,
            world=loaded,
            device=resolved,
            predictor=predictor,
            min_score=min_score,
            samples=samples,
            seed=seed,
        )

    @classmethod
    def default(
        cls,
        *,
        device: DeviceLike = "auto",
        predictor: LinkPredictor | str | Path | None = None,
        min_score: float = 0.5,
    ) -> Reasoner:
        """The default bundled world (:data:`~mmreason.worlds.DEFAULT_WORLD`), with its CLIP model.

        ``predictor``: a link predictor trained on its KG (``mmreason train-gnn``), to add
        its predicted facts (see :class:`Reasoner`).
        """
        return cls.from_world(None, device=device, predictor=predictor, min_score=min_score)

    # -------------------------------------------------------------- components

    @property
    def vocabulary(self) -> Vocabulary | None:
        """What grounding reads in this world's pictures (None: the world has no vision)."""
        if self.world is None or self.world.vision is None:
            return None
        from mmreason.vision.vocabulary import Vocabulary

        return Vocabulary.from_world(self.world)

    @property
    def encoder(self) -> ClipEncoder:
        if self._encoder is None:
            from mmreason.vision.grounding import world_encoder

            self._encoder = world_encoder(self._vision_world(), device=self.device)
        return self._encoder

    @property
    def parser(self) -> QuestionParser:
        if self._parser is None:
            from mmreason.qa.lexicon import Lexicon
            from mmreason.qa.parser import QuestionParser

            lexicon = Lexicon.from_kg(self.kg, scm=self.scm, bindings=self.bindings)
            examples = self.world.examples if self.world is not None else ()
            self._parser = QuestionParser(lexicon, examples=examples)
        return self._parser

    @property
    def compositional(self) -> CompositionalParser:
        """The parser of compositional (CLEVR-style) questions, for a world with a ``[questions]`` table."""
        if self._compositional is None:
            from mmreason.qa.compose import CompositionalParser

            if self.world is None or self.world.questions is None:
                name = "this Reasoner" if self.world is None else f"the world {self.world.name!r}"
                raise WorldError(f"{name} has no [questions] table, so no compositional questions")
            self._compositional = CompositionalParser.for_world(self.world)
        return self._compositional

    def _vision_world(self) -> World:
        if self.world is None or self.world.vision is None:
            name = "this Reasoner" if self.world is None else f"the world {self.world.name!r}"
            raise ImageError(
                f"{name} has no vision schema, so it cannot read images (give a world with [vision])"
            )
        return self.world

    def ground(self, image: ImageLike, *, image_id: str | None = None) -> SceneGraph:
        """Ground ``image`` once (cached by its pixels) and add its facts to the KG in a graph of its own."""
        with self._lock:
            return self._ground(image, image_id)

    def forget_images(self) -> int:
        """Drop every grounded image: its cached scene and its graph in the KG. Returns how many.

        A long batch calls this after each image, so memory stays flat and an answer never
        depends on which images were asked about before.
        """
        from mmreason.kg.vocab import scene_graph_iri

        with self._lock:
            scenes = list(self._scenes.values())
            for scene in scenes:
                self.kg.remove(scene.to_rdf(), graph=scene_graph_iri(scene.image_id))
            self._scenes.clear()
            return len(scenes)

    def _ground(self, image: ImageLike, image_id: str | None) -> SceneGraph:
        from mmreason.kg.vocab import scene_graph_iri
        from mmreason.vision.grounding import ground
        from mmreason.vision.images import load_image

        world = self._vision_world()
        if isinstance(image, (str, Path)) and Path(image).suffix.lower() in VIDEO_SUFFIXES:
            return self._ground_clip(Path(image), world, image_id)
        picture = load_image(image)
        key = hashlib.sha256(f"{picture.mode}{picture.size}".encode() + picture.tobytes()).hexdigest()
        if key not in self._scenes:
            if image_id is None:
                image_id = Path(image).stem if isinstance(image, (str, Path)) else f"image-{key[:12]}"
            scene = ground(
                picture, world=world, encoder=self.encoder, vocabulary=self.vocabulary, image_id=image_id
            )
            self.kg.add(scene.to_rdf(), graph=scene_graph_iri(scene.image_id))
            self._scenes[key] = scene
        return self._scenes[key]

    def _ground_clip(self, path: Path, world: World, image_id: str | None) -> SceneGraph:
        """A clip, read by the world's clip reader (its first frame grounded as a still, plus what
        only motion shows), cached by the file's bytes."""
        from mmreason.errors import MissingFileError
        from mmreason.kg.vocab import scene_graph_iri
        from mmreason.vision.grounding import ground

        if not path.is_file():
            raise MissingFileError(path)
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        key = "clip:" + digest.hexdigest()
        if key not in self._scenes:
            name = image_id or path.stem

            def still(picture: Any) -> SceneGraph:
                return ground(
                    picture, world=world, encoder=self.encoder, vocabulary=self.vocabulary, image_id=name
                )

            scene = world.load_clip_reader()(path, ground=still, vocabulary=self.vocabulary)
            self.kg.add(scene.to_rdf(), graph=scene_graph_iri(scene.image_id))
            self._scenes[key] = scene
        return self._scenes[key]

    # ---------------------------------------------------------------- asking

    def ask(self, image: ImageLike | None, question: str) -> Answer:
        """Answer one question about ``image`` (None for a question about the world's knowledge or
        causal model); the answer carries every step behind it."""
        return self.conversation(image).ask(question)

    def conversation(self, image: ImageLike | None = None) -> Conversation:
        """A multi-turn dialogue about one image (or none): follow-ups resolve against earlier turns."""
        return Conversation(self, image)

    def what_if(self, scenario: str | Path | Scenario) -> WhatIfResult:
        """Run a scenario file (``docs/scenario-format.md``): factual vs. what-if per query.

        The scenario's world is this one unless it names another; its ``[model]`` SCM and
        bindings, when given, replace the world's.
        """
        with self._lock:
            return self._what_if(scenario)

    def _what_if(self, scenario: str | Path | Scenario) -> WhatIfResult:
        from mmreason.scenarios import Scenario, load_scenario, run_scenario

        loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        reasoner = self._for_world(loaded.world)
        scm, executor = reasoner._scenario_model(loaded)
        image_evidence: Mapping[str, Any] = {}
        image_soft: Mapping[str, Mapping[Any, float]] = {}
        steps: tuple[Step, ...] = ()
        image = reasoner._scenario_image(loaded)
        scene = None
        if image is not None:
            from mmreason.vision.images import load_image

            image = load_image(image)
            scene = reasoner.ground(image, image_id=loaded.name.replace(" ", "-"))
            found = executor.evidence(scene)
            image_evidence, image_soft, steps = found.evidence, found.soft_evidence, found.steps
        return run_scenario(
            loaded,
            scm=scm,
            image_evidence=image_evidence,
            image_soft_evidence=image_soft,
            steps=steps,
            image=image,
            scene=scene,
            samples=executor.samples,
            seed=executor.seed,
        )

    def _for_world(self, world: str | Path | None) -> Reasoner:
        """This Reasoner when ``world`` is its own (or None), else one for that world (built once)."""
        from mmreason.worlds import resolve_world

        if world is None:
            return self
        loaded = resolve_world(world)
        if self.world is not None and loaded.manifest == self.world.manifest:
            return self
        key = str(loaded.manifest)
        if key not in self._others:
            self._others[key] = Reasoner.from_world(loaded, device=self.device)
        return self._others[key]

    def _scenario_model(self, scenario: Scenario) -> tuple[SCM, Executor]:
        """The SCM and evidence reader a scenario runs with: its own [model] files, else the world's."""
        from mmreason.causal.bindings import Bindings
        from mmreason.causal.scm import SCM
        from mmreason.errors import ScenarioError
        from mmreason.qa.executor import Executor

        if scenario.scm_path is None:
            if self.scm is None:
                raise ScenarioError(f"{scenario.path}: the world has no SCM; name one in [model] scm = ...")
            return self.scm, self.executor
        scm = SCM.from_file(scenario.scm_path, device=self.device)
        bindings = None
        if scenario.bindings_path is not None:
            prefixes = self.world.prefixes if self.world is not None else None
            bindings = Bindings.from_file(scenario.bindings_path, scm=scm, prefixes=prefixes)
        executor = Executor(
            kg=self.kg,
            scm=scm,
            bindings=bindings,
            vocabulary=self.vocabulary,
            focus=self.executor.focus,
            samples=self.executor.samples,
            seed=self.executor.seed,
        )
        return scm, executor

    def _scenario_image(self, scenario: Scenario) -> Any:
        if scenario.image_path is not None:
            return scenario.image_path
        if scenario.render_seed is not None:
            if self.world is None:
                from mmreason.errors import ScenarioError

                raise ScenarioError(f"{scenario.path}: image.render_seed needs a world with a renderer")
            return self.world.load_renderer()(scenario.render_seed)[0]
        return None


def _ground_step(scene: SceneGraph) -> Step:
    read = [f"{a.value} (p={a.confidence:.3f})" for a in scene.attributes.values()]
    confidences = [a.confidence for a in scene.attributes.values()]
    summary = f"{len(scene.objects)} objects" + (f"; {', '.join(read)}" if read else "")
    if scene.warnings:
        summary += "; " + "; ".join(scene.warnings)
    return Step("ground", f"{summary} [{scene.model}]", min([*confidences, scene.reliability], default=1.0))


from mmreason.dialogue import Conversation  # noqa: E402  (it refers back to Reasoner)
