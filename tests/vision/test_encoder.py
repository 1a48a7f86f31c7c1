"""ClipEncoder: the bundled checkpoint, agreement with raw open_clip, local weights, refusals."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from PIL import Image

from mmreason.errors import MissingFileError, ModelLoadError, UnknownNameError
from mmreason.vision.encoder import (
    CHECKPOINT_FILE,
    LIT_MODEL_NAME,
    RECIPE_FILE,
    ClipEncoder,
    build_lit_model,
    file_sha256,
    lit_model_config,
)
from mmreason.worlds import resolve_world
from mmreason.worlds.crossing import render_scene

MODEL = resolve_world("crossing").encoder


@pytest.fixture(scope="module")
def crops():
    from mmreason.vision.proposals import square_crop

    image, truth = render_scene(77)
    return [image, *(square_crop(image, o.bbox) for o in truth.objects)]


def test_bundled_checkpoint_is_small_and_recorded():
    checkpoint = MODEL / CHECKPOINT_FILE
    recipe = json.loads((MODEL / RECIPE_FILE).read_text())
    assert checkpoint.stat().st_size <= 25 * 2**20
    assert recipe["sha256"] == file_sha256(checkpoint)
    assert recipe["model_config"] == lit_model_config()
    assert recipe["data_split"]["held_out_pairs"]
    assert set(recipe["validation_accuracy"]) >= {
        "weather",
        "road",
        "light",
        "type",
        "colour",
        "held_out_pairs",
    }


def test_embeddings_are_normalised_and_scores_are_probabilities(encoder, crops):
    images = encoder.encode_images(crops)
    texts = encoder.encode_texts(["a car", "a bus", "a car"])
    assert images.shape == (len(crops), encoder.embed_dim) == (len(crops), 384)
    assert torch.allclose(images.norm(dim=1), torch.ones(len(crops)), atol=1e-5)
    assert torch.equal(texts[0], texts[2])
    probs = encoder.score(crops, ["a car", "a truck", "a bus", "a pedestrian"])
    assert torch.allclose(probs.sum(dim=1), torch.ones(len(crops)), atol=1e-5)


def test_batched_preprocessing_equals_open_clips_per_image_transforms(encoder, crops):
    # Bit for bit: the batch path runs the same arithmetic as open_clip's transform, image by image.
    odd = [crops[0].resize((37, 23)), crops[1].convert("L"), *crops[2:4]]
    for images in (crops, odd):
        expected = torch.stack([encoder.preprocess(im.convert("RGB")) for im in images])
        assert torch.equal(encoder.preprocess_images(images), expected)


def test_wrapper_agrees_with_raw_open_clip(encoder, crops):
    # Differential: open_clip's own preprocess + encode_image/encode_text with the same weights.
    from safetensors.torch import load_file

    model, preprocess, tokenizer = build_lit_model()
    state = load_file(str(MODEL / CHECKPOINT_FILE))
    model.logit_scale.data.copy_(state.pop("logit_scale").reshape(()))
    model.visual.load_state_dict({k.removeprefix("visual."): v for k, v in state.items()})
    with torch.no_grad():
        raw_images = model.encode_image(torch.stack([preprocess(im) for im in crops]), normalize=True)
        raw_texts = model.encode_text(tokenizer(["a red car", "rain"]), normalize=True)
    assert torch.allclose(encoder.encode_images(crops), raw_images, atol=1e-5)
    assert torch.allclose(encoder.encode_texts(["a red car", "rain"]), raw_texts, atol=1e-5)
    raw_probs = (model.logit_scale.exp() * raw_images @ raw_texts.T).softmax(dim=-1)
    assert torch.allclose(encoder.score(crops, ["a red car", "rain"]), raw_probs, atol=1e-5)


def test_bundled_model_reads_the_crossing(encoder):
    # Known answer on a scene it never saw: a rainy, wet scene and a clear, dry one.
    rain, _ = render_scene(3_000_001, Weather="rain", Road="wet")
    clear, _ = render_scene(3_000_002, Weather="clear", Road="dry")
    weather = encoder.score([rain, clear], ["clear weather", "cloudy weather", "rain"])
    road = encoder.score([rain, clear], ["a dry road", "a wet road"])
    assert weather.argmax(dim=1).tolist() == [2, 0]
    assert road.argmax(dim=1).tolist() == [1, 0]


@pytest.mark.slow
def test_a_random_vit_b_32_round_trips_through_a_local_file(tmp_path):
    import open_clip
    from safetensors.torch import save_file

    torch.manual_seed(0)
    model, _, preprocess = open_clip.create_model_and_transforms("ViT-B-32", pretrained=None)
    model.eval()
    path = tmp_path / "vit-b-32.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path))
    loaded = ClipEncoder.from_open_clip("ViT-B-32", weights=path, device="cpu")
    image = Image.new("RGB", (224, 224), (30, 120, 200))
    with torch.no_grad():
        expected_image = model.encode_image(preprocess(image).unsqueeze(0), normalize=True)
        expected_text = model.encode_text(open_clip.get_tokenizer("ViT-B-32")(["a bus"]), normalize=True)
    assert torch.allclose(loaded.encode_images([image]), expected_image, atol=1e-5)
    assert torch.allclose(loaded.encode_texts(["a bus"]), expected_text, atol=1e-5)


@pytest.mark.slow
def test_a_torch_save_file_loads_with_weights_only(tmp_path, encoder):
    path = tmp_path / "whole.pt"
    torch.save({"state_dict": encoder.model.state_dict()}, path)
    loaded = ClipEncoder.from_open_clip(LIT_MODEL_NAME, weights=path, device="cpu")
    image = encoder.blank_image()
    assert torch.allclose(loaded.encode_images([image]), encoder.encode_images([image]), atol=1e-6)


@pytest.fixture
def model_copy(tmp_path):
    target = tmp_path / "clip"
    shutil.copytree(MODEL, target)
    return target


def test_corrupt_checkpoint_is_refused(model_copy):
    checkpoint = model_copy / CHECKPOINT_FILE
    data = bytearray(checkpoint.read_bytes())
    data[len(data) // 2] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match=r"model\.safetensors: SHA-256 .* does not match"):
        ClipEncoder.from_folder(model_copy, device="cpu")


def test_missing_checkpoint_and_recipe(model_copy):
    (model_copy / RECIPE_FILE).unlink()
    with pytest.raises(ModelLoadError, match=r"recipe recipe\.json is missing"):
        ClipEncoder.from_folder(model_copy, device="cpu")
    (model_copy / CHECKPOINT_FILE).unlink()
    with pytest.raises(ModelLoadError, match=r"no model\.safetensors"):
        ClipEncoder.from_folder(model_copy, device="cpu")


def test_recorded_checksum_of_a_foreign_file_is_still_checked_for_shape(model_copy):
    # A file whose recipe was updated to match but whose tensors do not fit the architecture.
    from safetensors.torch import save_file

    checkpoint = model_copy / CHECKPOINT_FILE
    save_file({"logit_scale": torch.zeros(1), "visual.bogus": torch.zeros(2)}, str(checkpoint))
    recipe = json.loads((model_copy / RECIPE_FILE).read_text())
    recipe["sha256"] = file_sha256(checkpoint)
    (model_copy / RECIPE_FILE).write_text(json.dumps(recipe))
    with pytest.raises(ModelLoadError, match="do not fit"):
        ClipEncoder.from_folder(model_copy, device="cpu")


@pytest.mark.parametrize(
    ("name", "weights", "error", "match"),
    [
        ("ViT-B-33", "x", UnknownNameError, "ViT-B-32"),
        ("ViT-B-32", "/nonexistent/w.safetensors", MissingFileError, "w.safetensors"),
        ("ViT-B-32", "GARBAGE", ModelLoadError, "not a readable torch checkpoint"),
        ("RN50", "BUNDLED", ModelLoadError, "does not load into open_clip 'RN50'"),
    ],
)
def test_from_open_clip_refusals(tmp_path, name, weights, error, match):
    if weights == "GARBAGE":
        weights = tmp_path / "garbage.pt"
        weights.write_bytes(b"\x00not a checkpoint")
    elif weights == "BUNDLED":
        weights = MODEL / CHECKPOINT_FILE
    with pytest.raises(error, match=match):
        ClipEncoder.from_open_clip(name, weights=weights, device="cpu")


@pytest.mark.gpu
def test_cuda_embeddings_match_the_cpu(encoder, crops):
    on_gpu = ClipEncoder.default(device="cuda")
    assert on_gpu.device.type == "cuda"
    assert torch.allclose(on_gpu.encode_images(crops), encoder.encode_images(crops), atol=1e-3)
    assert torch.allclose(on_gpu.encode_texts(["a bus"]), encoder.encode_texts(["a bus"]), atol=1e-3)
