"""The ``mmreason`` command: flags in, typed calls on the library out."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mmreason.errors import InvalidInputError, MmreasonError

__all__ = ["main"]


def _cmd_info(args: argparse.Namespace) -> int:
    from mmreason.info import install_info

    info = install_info(device=args.device)
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]mmreason {info.mmreason}[/bold]  python {info.python}")
    console.print(f"device: {info.device} (CUDA available: {info.cuda_available})")
    table = Table("package", "version", title="dependencies")
    for name, version in info.versions:
        table.add_row(name, version)
    console.print(table)
    console.print(f"graphs:    {info.graphs_dir}  ({', '.join(info.graphs) or 'none'})")
    for name, folder, encoder in info.worlds:
        console.print(f"world:     {name}  {folder}  (CLIP model: {encoder or 'none'})")
    console.print(f"scenarios: {info.scenarios_dir}")
    return 0


def _world(args: argparse.Namespace) -> Any:
    from mmreason.worlds import resolve_world

    return resolve_world(args.world)


def _cmd_render(args: argparse.Namespace) -> int:
    from mmreason.vision.labels import write_renders

    world = _world(args)
    if args.video:
        from mmreason.vision.clips import write_clips

        paths = write_clips(world, args.out, seed=args.seed, count=args.count)
        print(f"wrote {len(paths)} clips of the world {world.name!r} to {args.out}")
        return 0
    paths = write_renders(
        world, args.out, seed=args.seed, count=args.count, labels=args.labels, progress=args.count > 1
    )
    extra = f" and {args.out}/labels.csv" if args.labels else ""
    print(f"wrote {len(paths)} renders of the world {world.name!r} to {args.out}{extra}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from mmreason.qa.clevr_eval import evaluate_questions

    report = evaluate_questions(
        _world(args), args.scenes, args.questions, images=args.images, limit=args.limit, progress=True
    )
    print(report.table())
    print(f"{report.seconds_per_question * 1000:.1f} ms per question")
    if args.json:
        Path(args.json).write_text(report.to_json() + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def _cmd_train_clip(args: argparse.Namespace) -> int:
    from mmreason.vision.train import TrainConfig, train_clip

    given = {k: v for k, v in (("seed", args.seed), ("steps", args.steps)) if v is not None}
    config = TrainConfig.for_world(_world(args), **given)
    result = train_clip(_world(args), config, labels=args.labels, out=args.out)
    print(f"wrote {result.checkpoint} and {result.recipe} in {result.seconds:.0f} s")
    print(json.dumps(result.accuracy, indent=2))
    return 0


def _cmd_ground(args: argparse.Namespace) -> int:
    from mmreason.vision.grounding import ground, world_encoder
    from mmreason.vision.vocabulary import Vocabulary

    world = _world(args)
    encoder = world_encoder(world, device=args.device)
    vocabulary = Vocabulary.from_world(world)
    scenes = [
        ground(path, world=world, encoder=encoder, vocabulary=vocabulary, proposer=args.proposer)
        for path in args.images
    ]
    if args.json:
        out = [s.to_dict() for s in scenes]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for path, scene in zip(args.images, scenes, strict=True):
        read = ", ".join(
            f"{vocabulary.label(p)} {a.value} ({a.confidence:.2f})" for p, a in scene.attributes.items()
        )
        console.print(f"[bold]{path}[/bold]: {read or 'no scene attributes'}")
        table = Table("object", "type", "attributes", "measures", "bbox")
        for o in scene.objects:
            table.add_row(
                o.id,
                f"{o.type.value} ({o.type.confidence:.2f})",
                ", ".join(f"{a.value} ({a.confidence:.2f})" for a in o.attributes.values()),
                ", ".join(f"{vocabulary.label(p)} {v:.2f}" for p, v in o.measures.items()),
                str(list(o.bbox)),
            )
        console.print(table)
        for relation in scene.relations:
            console.print(f"  {relation.subject} {vocabulary.label(relation.property)} {relation.object}")
    return 0


def _cmd_train_gnn(args: argparse.Namespace) -> int:
    from mmreason.gnn.distributed import is_launched, join

    if args.nproc < 1:
        raise InvalidInputError(f"--nproc {args.nproc}: expected a whole number ≥ 1")
    if is_launched():
        with join(args.device) as (rank, world, device):
            return _train_gnn(args, device=device, rank=rank, world=world)
    if args.nproc > 1:
        return _torchrun(args)
    return _train_gnn(args, device=args.device, rank=0, world=1)


def _torchrun(args: argparse.Namespace) -> int:
    """Start this same command as ``--nproc`` processes through torchrun (one machine, any free port)."""
    import subprocess

    rest, skip = [], False
    for token in args.argv:
        if skip:
            skip = False
        elif token == "--nproc":
            skip = True
        elif not token.startswith("--nproc="):
            rest.append(token)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += [f"--nproc-per-node={args.nproc}", "-m", "mmreason", *rest]
    return subprocess.run(command, check=False).returncode


def _train_gnn(args: argparse.Namespace, *, device: str, rank: int, world: int) -> int:
    from mmreason.gnn import TrainingConfig, train_link_predictor
    from mmreason.gnn.triples import open_graph

    graph = open_graph(args.graphs)
    config = TrainingConfig(training=args.training, lr=args.lr, negatives=args.negatives)
    start = time.perf_counter()
    predictor = train_link_predictor(
        graph,
        model=args.model,
        epochs=args.epochs,
        dim=args.dim,
        seed=args.seed,
        config=config,
        valid=None if args.valid is None else open_graph([args.valid]),
        test=None if args.test is None else open_graph([args.test]),
        features=args.features,
        device=device,
        checkpoint=args.out if rank == 0 else None,
        progress=rank == 0,
    )
    if rank != 0:
        return 0
    seconds = time.perf_counter() - start
    epochs = max((int(h["epoch"]) for h in predictor.history), default=args.epochs)
    print(f"{predictor!r}: wrote {args.out}")
    print(f"trained in {seconds:.1f} s on {world} process(es) ({device})")
    for name, metrics in (("validation", predictor.valid_metrics), ("test", predictor.test_metrics)):
        if metrics is not None:
            print(
                f"{name}: filtered MRR {metrics.mrr:.4f}, Hits@1 {metrics.hits_at_1:.4f}, "
                f"Hits@3 {metrics.hits_at_3:.4f}, Hits@10 {metrics.hits_at_10:.4f} "
                f"({metrics.num_triples} triples)"
            )
    if args.metrics:
        record = {
            "processes": world,
            "device": device,
            "seconds": seconds,
            "epochs_run": epochs,
            "valid": None if predictor.valid_metrics is None else dataclasses.asdict(predictor.valid_metrics),
            "test": None if predictor.test_metrics is None else dataclasses.asdict(predictor.test_metrics),
        }
        Path(args.metrics).write_text(json.dumps(record, indent=2))
    return 0


def _cmd_complete(args: argparse.Namespace) -> int:
    from mmreason.gnn import LinkPredictor
    from mmreason.gnn.complete import complete, write_predicted
    from mmreason.gnn.triples import open_graph

    kg = open_graph(args.graphs, location=args.kg)
    predictor = LinkPredictor.load(args.model_dir, device=args.device)
    completion = complete(kg, predictor, top_k=args.top_k, min_score=args.min_score, write=True)
    print(
        f"{len(completion.facts)} predicted facts (of {completion.candidates} candidates) "
        f"with p ≥ {args.min_score} written to {completion.graph or 'nothing'} by {completion.model_id}"
    )
    for fact in completion.facts[: args.show]:
        print(f"{fact.score:.3f}  {fact.head}  {fact.relation}  {fact.tail}")
    if args.out is not None:
        print(f"wrote {write_predicted(kg, args.out)}")
    return 0


def _print_answer(answer: Any, *, as_json: bool) -> None:
    if as_json:
        print(answer.to_json())
    else:
        print(answer.explain())


def _reasoner(args: argparse.Namespace) -> Any:
    from mmreason.reasoner import Reasoner

    return Reasoner.from_world(_world(args), device=args.device, predictor=args.gnn, min_score=args.min_score)


def _image(name: str) -> str | None:
    # "-" stands for no image: a question about the world's knowledge or causal model.
    return None if name == "-" else name


def _cmd_ask(args: argparse.Namespace) -> int:
    _print_answer(_reasoner(args).ask(_image(args.image), args.question), as_json=args.json)
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    from mmreason.errors import QuestionNotUnderstoodError

    image = _image(args.image)
    if image is not None:
        from mmreason.vision.images import load_image

        image = load_image(image, name=args.image)  # refused now, not at the first question
    reasoner = _reasoner(args)
    if args.resume:
        from mmreason.dialogue import Conversation

        text = _read_text(args.resume)
        chat = Conversation.from_json(reasoner, text, image=image)
    else:
        chat = reasoner.conversation(image)
    interactive = sys.stdin.isatty()
    asked = failed = 0
    while True:
        if interactive:
            print("? ", end="", flush=True)
        line = sys.stdin.readline()
        question = line.strip()
        if not line or question.lower() in {"quit", "exit", "bye"}:
            break
        if not question:
            continue
        asked += 1
        # A line that ends with a full stop is a statement ("There is a small red thing.") in a world
        # whose grammar reads them.
        statement = (
            question.endswith(".") and reasoner.world is not None and reasoner.world.questions is not None
        )
        try:
            _print_answer(chat.tell(question) if statement else chat.ask(question), as_json=args.json)
        except (QuestionNotUnderstoodError, InvalidInputError) as exc:
            failed += 1
            print(f"mmreason: {exc}", file=sys.stderr)
    if args.save:
        Path(args.save).write_text(chat.to_json() + "\n", encoding="utf-8")
    if failed:
        print(f"mmreason: {failed} of {asked} turns were not understood", file=sys.stderr)
        return 1
    return 0


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError(f"{path}: cannot be read: {exc}") from None


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    device = "cpu" if args.device == "auto" else args.device
    return {
        "engine": args.engine,
        "workers": args.workers,
        "address": args.address,
        "device": device,
        "predictor": args.gnn,
        "min_score": args.min_score,
    }


def _cmd_whatif(args: argparse.Namespace) -> int:
    from mmreason.report import write_whatif_report

    if args.engine is None:
        reasoner = _reasoner(args)
        results = [reasoner.what_if(path) for path in args.files]
    else:
        from mmreason.batch import what_if

        results = what_if(args.files, world=args.world, **_engine_options(args))
    for result in results:
        print(result.summary())
    if args.report:
        print(f"report: {write_whatif_report(results, args.report)}")
    return 0 if all(r.passed for r in results) else 1


def _cmd_batch(args: argparse.Namespace) -> int:
    from mmreason.batch import reason

    summary = reason(
        args.world,
        images=args.images,
        questions=args.questions,
        out=args.out,
        progress=not args.quiet,
        **_engine_options(args),
    )
    print(summary)
    print(
        f"{summary.answered} answers in this run, {summary.questions_per_second:.2f} questions/s "
        f"(model loading included); worker restarts: {summary.worker_restarts}"
    )
    return 0


def _scale_options(command: argparse.ArgumentParser, *, default_engine: str | None) -> None:
    command.add_argument(
        "--engine",
        choices=("local", "ray"),
        default=default_engine,
        help="local: worker processes on this machine; ray: Ray actors (pip install 'mmreason[distributed]')"
        + ("" if default_engine else "; default: run here, in this process"),
    )
    command.add_argument("--workers", type=int, default=None, help="workers (default: CPUs, at most 8)")
    command.add_argument(
        "--address", default=None, help="a Ray cluster to join (auto, ray://HOST:10001); default: start one"
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        from mmreason.web import serve
    except ImportError as exc:
        raise InvalidInputError(
            f"mmreason serve needs the web extra: pip install 'mmreason[web]' ({exc})"
        ) from None
    device = "cpu" if args.device == "auto" else args.device
    serve(args.world, host=args.host, port=args.port, device=device)
    return 0


def _cmd_scm(args: argparse.Namespace) -> int:
    from mmreason.causal import SCM

    scm = SCM.from_file(args.file, device=args.device)
    evidence = scm.parse_assignments(args.evidence, role="evidence")
    do = scm.parse_assignments(args.do, role="do")
    options = {"evidence": evidence, "do": do, "samples": args.samples, "seed": args.seed}
    ask = scm.counterfactual if args.counterfactual else scm.query
    result = ask(args.target, **options)
    print(json.dumps(result.to_dict(), indent=2) if args.json else result)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from mmreason.demo import run_demo

    result = run_demo(args.out, world=_world(args), device=args.device)
    for name, answers in result.answers:
        print(f"{name}:")
        for answer in answers:
            print(f"  {answer.question} -> {answer.text or answer.value} ({answer.confidence:.2f})")
    for scenario in result.scenarios:
        print(scenario.summary())
    print(f"reports: {result.questions_report} and {result.whatif_report}")
    return 0 if result.passed else 1


def _world_option(command: argparse.ArgumentParser) -> None:
    # Also accepted after the command; there it wins over the one before it.
    command.add_argument(
        "--world", default=argparse.SUPPRESS, metavar="DIR", help="the world (folder or bundled name)"
    )


def _gnn_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--gnn",
        default=None,
        metavar="DIR",
        help="a link-predictor checkpoint trained on the KG (mmreason train-gnn): its facts answer "
        "where asserted ones are silent, each with its score",
    )
    command.add_argument(
        "--min-score",
        type=float,
        default=0.5,
        help="least calibrated probability of a predicted fact used (default: 0.5)",
    )


def _parser() -> argparse.ArgumentParser:
    from mmreason import __version__

    parser = argparse.ArgumentParser(
        prog="mmreason",
        description="Causal and knowledge-graph multimodal reasoning over images, RDF graphs and SCMs.",
    )
    parser.add_argument("--version", action="version", version=f"mmreason {__version__}")
    parser.add_argument(
        "--world",
        default=None,
        metavar="DIR",
        help="the world: a folder with a world.toml, or a bundled world's name (default: crossing)",
    )
    parser.add_argument(
        "--device",
        default="auto",
        help="where models run: auto (CUDA when available, else CPU), cpu, cuda, cuda:N (default: auto)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    info = sub.add_parser("info", help="versions, device, and where the bundled graphs and models are")
    info.add_argument("--json", action="store_true", help="print as JSON")
    info.set_defaults(run=_cmd_info)

    render = sub.add_parser("render", help="render scenes of a world that has a renderer, with their truth")
    _world_option(render)
    render.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    render.add_argument("--count", type=int, default=1, help="how many consecutive seeds (default: 1)")
    render.add_argument("--out", required=True, help="folder to write the PNG + truth JSON pairs into")
    render.add_argument(
        "--labels",
        action="store_true",
        help="also write OUT/labels.csv, the training labels train-clip reads",
    )
    render.add_argument(
        "--video",
        action="store_true",
        help="write clips (OUT/clip-SEED.mp4 and its events as JSON) from the world's clip renderer",
    )
    render.set_defaults(run=_cmd_render)

    evaluate = sub.add_parser(
        "eval", help="accuracy on a CLEVR questions.json per family, from the images and the true scenes"
    )
    _world_option(evaluate)
    evaluate.add_argument("--scenes", required=True, help="CLEVR's scenes.json (the true scene graphs)")
    evaluate.add_argument("--questions", required=True, help="CLEVR's questions.json (question, answer)")
    evaluate.add_argument(
        "--images", default=None, help="the folder of the scenes' images, to answer from them"
    )
    evaluate.add_argument("--limit", type=int, default=None, help="only the first N questions")
    evaluate.add_argument("--json", default=None, metavar="FILE", help="also write the report as JSON")
    evaluate.set_defaults(run=_cmd_eval)

    train_clip = sub.add_parser("train-clip", help="train a world's CLIP model on its labelled images (CPU)")
    _world_option(train_clip)
    train_clip.add_argument(
        "--labels", default=None, help="a labels CSV (default: the manifest's [training] labels)"
    )
    train_clip.add_argument(
        "--seed", type=int, default=None, help="training seed (default: the manifest's, or 0)"
    )
    train_clip.add_argument(
        "--steps", type=int, default=None, help="optimiser steps (default: the manifest's)"
    )
    train_clip.add_argument(
        "--out", default=None, help="the model folder to write (default: the world's clip/ folder)"
    )
    train_clip.set_defaults(run=_cmd_train_clip)

    ground = sub.add_parser("ground", help="ground images as scene facts with confidences")
    _world_option(ground)
    ground.add_argument("images", nargs="+", help="image files")
    ground.add_argument("--json", action="store_true", help="print the truth-JSON keys plus confidences")
    ground.add_argument(
        "--proposer",
        choices=("auto", "segment", "grid"),
        default="auto",
        help="region proposals: segment (the world's own, or a plain background), grid (any photo), "
        "auto (the world's choice; default)",
    )
    ground.set_defaults(run=_cmd_ground)

    train_gnn = sub.add_parser(
        "train-gnn", help="train a link predictor (R-GCN / KGE) on RDF files or TSV triples"
    )
    train_gnn.add_argument("graphs", nargs="+", help="RDF files, or head<TAB>relation<TAB>tail tables (.tsv)")
    train_gnn.add_argument("--model", default="rgcn-distmult", help="registry key (default: rgcn-distmult)")
    train_gnn.add_argument("--epochs", type=int, default=200, help="most epochs (default: 200)")
    train_gnn.add_argument("--dim", type=int, default=64, help="embedding dimension (default: 64)")
    train_gnn.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    train_gnn.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (default: 0.01)")
    train_gnn.add_argument("--negatives", type=int, default=16, help="negatives per positive, slcwa")
    train_gnn.add_argument(
        "--training", choices=("auto", "slcwa", "lcwa"), default="auto", help="training loop"
    )
    train_gnn.add_argument(
        "--features",
        default="learned",
        help="entity features: learned, auto, clip, minilm (default: learned)",
    )
    train_gnn.add_argument("--valid", default=None, help="validation triples (default: hold out 10%%)")
    train_gnn.add_argument("--test", default=None, help="test triples to report filtered metrics on")
    train_gnn.add_argument("--out", default="gnn-model", help="checkpoint folder (default: gnn-model)")
    train_gnn.add_argument(
        "--nproc",
        type=int,
        default=1,
        help="data-parallel processes started through torchrun: gloo on CPU, NCCL with one GPU each",
    )
    train_gnn.add_argument("--metrics", default=None, metavar="FILE", help="also write the metrics as JSON")
    train_gnn.set_defaults(run=_cmd_train_gnn)

    complete = sub.add_parser("complete", help="predict missing facts into the KG's predicted graph")
    complete.add_argument("graphs", nargs="*", help="RDF files to load (or use --kg)")
    complete.add_argument("--kg", default=None, help="a KG location: oxigraph:DIR or sparql:URL")
    complete.add_argument("--model-dir", required=True, help="checkpoint folder written by train-gnn")
    complete.add_argument(
        "--top-k", type=int, default=10, help="tails kept per (head, relation) (default: 10)"
    )
    complete.add_argument("--min-score", type=float, default=0.5, help="least probability (default: 0.5)")
    complete.add_argument("--show", type=int, default=20, help="facts to print (default: 20)")
    complete.add_argument("--out", default=None, help="also write the predicted graph as Turtle here")
    complete.set_defaults(run=_cmd_complete)

    ask = sub.add_parser("ask", help="answer a question about an image, with how it was reached")
    _world_option(ask)
    ask.add_argument("image", help="an image file, or - for a question about the world's knowledge or SCM")
    ask.add_argument("question", help='e.g. "Must the car stop?"')
    ask.add_argument("--json", action="store_true", help="print value, confidence and steps as JSON")
    _gnn_options(ask)
    ask.set_defaults(run=_cmd_ask)

    chat = sub.add_parser("chat", help="ask questions about one image, one per line on stdin")
    _world_option(chat)
    chat.add_argument("image", help="an image file, or - for questions without an image")
    chat.add_argument("--json", action="store_true", help="print each answer as JSON")
    chat.add_argument("--save", metavar="FILE", help="write the turns and dialogue state as JSON")
    chat.add_argument("--resume", metavar="FILE", help="go on from a conversation saved with --save")
    _gnn_options(chat)
    chat.set_defaults(run=_cmd_chat)

    whatif = sub.add_parser("whatif", help="run what-if scenario files; exit 1 if an expectation fails")
    _world_option(whatif)
    whatif.add_argument("files", nargs="+", help="scenario TOML files (docs/scenario-format.md)")
    whatif.add_argument("--report", default=None, help="write a Markdown report with plots into this folder")
    _gnn_options(whatif)
    _scale_options(whatif, default_engine=None)
    whatif.set_defaults(run=_cmd_whatif)

    serve = sub.add_parser("serve", help="a web page to talk to an image: upload, boxes, chat, what-if")
    _world_option(serve)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1, this machine only)"
    )
    serve.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    serve.set_defaults(run=_cmd_serve)

    batch = sub.add_parser(
        "batch", help="answer every question about every image of a folder, on worker processes or Ray"
    )
    _world_option(batch)
    batch.add_argument("--images", required=True, metavar="DIR", help="a folder of images and clips")
    batch.add_argument("--questions", required=True, metavar="FILE", help="questions, one per line")
    batch.add_argument(
        "--out", default="results.parquet", help="Parquet file of rows; a rerun skips images already in it"
    )
    batch.add_argument("--quiet", action="store_true", help="no progress bar")
    _gnn_options(batch)
    _scale_options(batch, default_engine="local")
    batch.set_defaults(run=_cmd_batch)

    scm = sub.add_parser("scm", help="ask an SCM file: P(target | evidence, do(...)) or a counterfactual")
    scm.add_argument("file", help="an .scm.toml file (docs/scm-format.md)")
    scm.add_argument("target", help="the variable asked about")
    scm.add_argument("-e", "--evidence", action="append", default=[], metavar="VAR=VALUE", help="observed")
    scm.add_argument("--do", action="append", default=[], metavar="VAR=VALUE", help="intervention")
    scm.add_argument(
        "--counterfactual", action="store_true", help="evidence is factual, do is counterfactual"
    )
    scm.add_argument("--samples", type=int, default=2000, help="draws of unpinned real noise (default: 2000)")
    scm.add_argument("--seed", type=int, default=0, help="seed of those draws (default: 0)")
    scm.add_argument("--json", action="store_true", help="print as JSON")
    scm.set_defaults(run=_cmd_scm)

    demo = sub.add_parser("demo", help="a world's scenes, questions and scenarios, with reports")
    _world_option(demo)
    demo.add_argument("--out", default="out/demo", help="report folder (default: out/demo)")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed check, 2 refused input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.run(args))
    except MmreasonError as exc:
        print(f"mmreason: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mmreason: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
