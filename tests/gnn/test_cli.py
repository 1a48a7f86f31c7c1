"""The train-gnn and complete sub-commands, end to end on small files."""

from __future__ import annotations

from mmreason.cli import main
from tests.gnn.gnn_helpers import family_triples


def test_train_gnn_then_complete(tmp_path, capsys):
    table = tmp_path / "family.tsv"
    table.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in family_triples(3)))
    rdf = tmp_path / "family.ttl"
    rdf.write_text(
        "@prefix ex: <http://example.org/> .\n"
        + "".join(f"ex:{h} ex:{r} ex:{t} .\n" for h, r, t in family_triples(3))
    )
    out = tmp_path / "model"
    argv = ["--device", "cpu", "train-gnn", str(rdf), "--model", "distmult", "--epochs", "20", "--dim", "8"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "validation: filtered MRR" in capsys.readouterr().out
    assert (out / "model.safetensors").is_file()
    ttl = tmp_path / "predicted.ttl"
    code = main(
        [
            "--device",
            "cpu",
            "complete",
            str(rdf),
            "--model-dir",
            str(out),
            "--min-score",
            "0.0",
            "--top-k",
            "1",
            "--out",
            str(ttl),
        ]
    )
    assert code == 0
    assert "predicted facts" in capsys.readouterr().out
    assert "rdf:Statement" in ttl.read_text()
    # Triples tables (PyKEEN's TSV layout) train too.
    assert (
        main(
            [
                "--device",
                "cpu",
                "train-gnn",
                str(table),
                "--epochs",
                "1",
                "--dim",
                "4",
                "--model",
                "distmult",
                "--out",
                str(tmp_path / "m2"),
            ]
        )
        == 0
    )


def test_complete_refuses_a_missing_checkpoint(tmp_path, capsys):
    rdf = tmp_path / "g.ttl"
    rdf.write_text("<http://e/a> <http://e/r> <http://e/b> .\n")
    assert main(["complete", str(rdf), "--model-dir", str(tmp_path / "none")]) == 2
    assert "link-predictor checkpoint not found" in capsys.readouterr().err


def test_bad_triples_table_names_file_and_line(tmp_path, capsys):
    table = tmp_path / "bad.tsv"
    table.write_text("a\tr\tb\nc\td\n")
    assert main(["train-gnn", str(table)]) == 2
    assert f"{table}:2: expected head<TAB>relation<TAB>tail, found 2 field(s)" in capsys.readouterr().err


def test_tables_and_rdf_files_do_not_mix(tmp_path, capsys):
    table, rdf = tmp_path / "a.tsv", tmp_path / "b.ttl"
    table.write_text("a\tr\tb\n")
    rdf.write_text("<http://e/a> <http://e/r> <http://e/b> .\n")
    assert main(["train-gnn", str(table), str(rdf)]) == 2
    assert "give either triples tables (.tsv, .txt) or RDF files" in capsys.readouterr().err
