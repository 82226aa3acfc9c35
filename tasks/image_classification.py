"""Image classification with timm models: the five most likely ImageNet classes, with readable names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import PIL.Image

from studio.batching import MAX_BATCH_SIZE, MicroBatcher
from studio.errors import UserError
from studio.gpu import predict_on_gpu, zero_gpu
from studio.i18n import inform, ui
from studio.runtime import Studio
from studio.timm_models import timm_folder

if TYPE_CHECKING:
    import gradio as gr

TASK = "image_classification"
TITLE = "Image classification"
DESCRIPTION = (
    "Name what is in a picture: the five most likely of the 1,000 ImageNet classes (or of your own, for a model "
    "fine-tuned here), with their scores."
)
ASSETS = Path(__file__).resolve().parent.parent / "assets"
TOP_K = 5
NOT_AN_IMAGE = "The file is not an image this app can read; upload a PNG, JPEG, WebP, GIF or BMP picture."
DAMAGED_IMAGE = "The image file is damaged or incomplete; upload it again or try another picture."

# open_image checks the configured max_image_pixels from the header before anything is decoded. PIL's own
# decompression-bomb check would fire first, in Gradio's header-only read of the upload, and turn a picture
# that is merely too large into a bare "not an image".
PIL.Image.MAX_IMAGE_PIXELS = None


@dataclass
class ImageClassifier:
    model: Any
    transform: Any
    labels: list[str]
    device: str
    dtype: Any
    batcher: MicroBatcher | None = None


def load(model_ref: str, device: str) -> ImageClassifier:
    """A timm model from a Hub name, a local folder (config.json + model.safetensors) or a pack name."""
    import timm
    from timm.data import create_transform, resolve_data_config

    from studio.device import inference_dtype

    folder = timm_folder(model_ref)
    model = timm.create_model(f"local-dir:{folder}", pretrained=True)
    dtype = inference_dtype(device)
    model.to(device=device, dtype=dtype).eval()
    transform = create_transform(**resolve_data_config(model=model))
    classifier = ImageClassifier(model, transform, class_names(model), device, dtype)
    classifier.batcher = MicroBatcher(lambda images: predict(classifier, images), max_batch_size=MAX_BATCH_SIZE)
    return classifier


def class_names(model: Any) -> list[str]:
    """Human-readable class names: the model's own, or ImageNet's synset descriptions."""
    from timm.data import ImageNetInfo, infer_imagenet_subset

    names = model.pretrained_cfg.get("label_names")
    descriptions = model.pretrained_cfg.get("label_descriptions") or {}
    if names:
        return [descriptions.get(name, name) for name in names]
    subset = infer_imagenet_subset(model)
    if subset:
        info = ImageNetInfo(subset)
        return [info.index_to_description(i) for i in range(model.num_classes)]
    return [f"class {i}" for i in range(model.num_classes)]


def open_image(path: str, max_pixels: int) -> Any:
    """The picture as RGB, after checking it is a real image of a size we accept (from its header, undecoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
    except UnidentifiedImageError:
        raise UserError(NOT_AN_IMAGE) from None
    except (OSError, SyntaxError, ValueError):
        raise UserError(DAMAGED_IMAGE) from None
    width, height = image.size
    if width * height > max_pixels:
        raise UserError(
            "The image is {width}×{height} pixels; the limit is {megapixels:.0f} megapixels, so resize it first.",
            width=width,
            height=height,
            megapixels=max_pixels / 1e6,
        )
    try:
        image.load()
        return image.convert("RGB")
    except (OSError, SyntaxError, ValueError, EOFError):
        raise UserError(DAMAGED_IMAGE) from None


def predict(classifier: ImageClassifier, images: list[Any], top_k: int = TOP_K) -> list[dict[str, float]]:
    """For each RGB image, its `top_k` classes with their probabilities, highest first."""
    if not images:
        return []
    batch = preprocess(classifier, images)
    probabilities = forward(classifier, batch)
    return postprocess(classifier, probabilities, top_k)


def preprocess(classifier: ImageClassifier, images: list[Any]) -> Any:
    import torch

    return torch.stack([classifier.transform(image) for image in images]).to(classifier.device, classifier.dtype)


def forward(classifier: ImageClassifier, batch: Any) -> Any:
    import torch

    with torch.inference_mode():
        return classifier.model(batch).float().softmax(dim=-1).cpu()


def postprocess(classifier: ImageClassifier, probabilities: Any, top_k: int) -> list[dict[str, float]]:
    values, indices = probabilities.topk(min(top_k, probabilities.shape[-1]), dim=-1)
    return [
        {classifier.labels[i]: round(p, 6) for p, i in zip(row_values, row_indices)}
        for row_values, row_indices in zip(values.tolist(), indices.tolist())
    ]


def batch_predict(classifier: ImageClassifier, paths: list[str], limits: Any) -> list[dict]:
    """For each picture file, the top class and its score; a picture that cannot be read is its row's error."""
    images, errors = [], {}
    for i, path in enumerate(paths):
        try:
            images.append(open_image(path, limits.max_image_pixels))
        except UserError as e:
            errors[i] = str(e)
    found = iter(predict(classifier, images, top_k=1))
    results = []
    for i in range(len(paths)):
        if i in errors:
            results.append({"prediction": None, "score": None, "error": errors[i]})
        else:
            ((label, score),) = next(found).items()
            results.append({"prediction": label, "score": score})
    return results


def model_labels(classifier: ImageClassifier) -> list[str]:
    """Every class the model can answer."""
    return list(classifier.labels)


def build_tab(studio: Studio) -> gr.Dropdown:
    """The Image classification tab; returns its model dropdown, which the Fine-tune tab adds models to."""
    # A module global, not a local: Gradio finds a handler's gr.Request by its annotation, read in these globals.
    global gr
    import gradio as gr

    from studio.ui import guard_upload, model_controls, refresh_status, user_errors

    limits = studio.config.limits
    predict_on_device = predict_on_gpu(studio, TASK, load, predict)

    @user_errors("classifying the image")
    def classify_image(image_path: str | None, model_ref: str | None = None) -> dict[str, float]:
        """Name what is in a picture: the five most likely classes (ImageNet's, or a fine-tuned model's own), scored.

        Args:
            image_path: the picture (PNG, JPEG, WebP, GIF or BMP).
            model_ref: a model the dropdown lists (its label or reference); empty: the default.
        """
        if not image_path:
            raise UserError("No image was given; upload a picture first.")
        image = open_image(image_path, limits.max_image_pixels)
        loaded, note = studio.load(TASK, model_ref, load)
        if note:
            inform(note)  # said in the request's language already
        if zero_gpu():  # ZeroGPU lends the GPU call by call, so requests are not batched together there
            return predict_on_device(loaded.ref, [image])[0]
        return loaded.model.batcher(image)

    gr.Markdown(ui(DESCRIPTION))
    with gr.Row(equal_height=False):
        with gr.Column():
            image = gr.Image(
                label=ui("Image"), type="filepath", image_mode=None, sources=["upload", "clipboard", "webcam"]
            )
            guard_upload(image, NOT_AN_IMAGE)
            button = gr.Button(ui("Classify image"), variant="primary")
            model, status = model_controls(studio, TASK, load)
        with gr.Column():
            labels = gr.Label(label=ui("Top 5 classes"), num_top_classes=TOP_K)
    examples = sorted(str(p) for p in ASSETS.glob("*.jpg")) + sorted(str(p) for p in ASSETS.glob("*.png"))
    if examples:
        gr.Examples(examples=[[e] for e in examples], inputs=[image])

    run = button.click(
        classify_image, [image, model], labels, api_name="classify_image", concurrency_limit=MAX_BATCH_SIZE
    )
    refresh_status(run, studio, TASK, model, status)
    return model
