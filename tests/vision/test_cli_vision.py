"""The vision sub-commands: render, ground."""

from __future__ import annotations

import json

from mmreason.cli import main


def test_render_then_ground_json(tmp_path, capsys):
    assert main(["render", "--seed", "4200000", "--count", "2", "--out", str(tmp_path)]) == 0
    pngs = sorted(tmp_path.glob("*.png"))
    assert [p.name for p in pngs] == ["scene-4200000.png", "scene-4200001.png"]
    capsys.readouterr()
    assert main(["--device", "cpu", "ground", str(pngs[0]), "--json"]) == 0
    grounded = json.loads(capsys.readouterr().out)
    truth = json.loads(pngs[0].with_suffix(".json").read_text())
    attributes = grounded["attributes"]
    assert (attributes["weather"]["value"], attributes["surface"]["value"]) == (
        truth["weather"],
        truth["road"],
    )
    (light,) = [o for o in grounded["objects"] if o["type"] == "traffic light"]
    assert light["attributes"]["lightState"]["value"] == truth["light"]
    assert len(grounded["objects"]) == len(truth["objects"]) + 1  # the traffic light is an object too


def test_render_labels_for_training(tmp_path):
    assert (
        main(["--world", "crossing", "render", "--seed", "4200010", "--out", str(tmp_path), "--labels"]) == 0
    )
    header, *rows = (tmp_path / "labels.csv").read_text().splitlines()
    assert header == "image,x0,y0,x1,y1,property,value"
    assert any(row.endswith(",a,mr:TrafficLight") for row in rows)


def test_ground_table_and_bad_file(tmp_path, capsys):
    main(["render", "--seed", "4200005", "--out", str(tmp_path)])
    capsys.readouterr()
    assert main(["--device", "cpu", "ground", str(tmp_path / "scene-4200005.png")]) == 0
    assert "weather" in capsys.readouterr().out
    bad = tmp_path / "bad.png"
    bad.write_text("hello")
    assert main(["--device", "cpu", "ground", str(bad)]) == 2
    assert "bad.png: not an image" in capsys.readouterr().err
