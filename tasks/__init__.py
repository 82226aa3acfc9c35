"""One module per task, each with the same shape: `load`, `predict`, `build_tab`."""

from tasks import image_classification, ner, speech, text_classification, translation

# Tab order in the app.
TASKS = (text_classification, ner, translation, speech, image_classification)
