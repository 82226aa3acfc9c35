"""Which tasks run on files, and what differs for each: the tasks' own predict, load and labels, put together."""

from __future__ import annotations

from batch.runner import TaskBatch
from studio.errors import UserError
from tasks import image_classification, ner, speech, text_classification, translation

SPECS = {
    spec.task: spec
    for spec in (
        TaskBatch(
            task=text_classification.TASK,
            load=text_classification.load,
            api_name="batch_classify_text",
            family="classification",
            fields=("prediction", "score"),
            predict_rows=text_classification.batch_predict,
            model_labels=text_classification.model_labels,
            is_multi_label=text_classification.is_multi_label,
        ),
        TaskBatch(
            task=ner.TASK,
            load=ner.load,
            api_name="batch_recognize_entities",
            family="entities",
            fields=("entities",),
            predict_rows=ner.batch_predict,
            model_labels=ner.entity_types,
        ),
        TaskBatch(
            task=translation.TASK,
            load=translation.load,
            api_name="batch_translate",
            family="translation",
            fields=("translation",),
            predict_rows=translation.batch_predict,
        ),
        TaskBatch(
            task=speech.TASK,
            load=speech.load,
            api_name="batch_transcribe",
            family="speech",
            fields=("transcript", "language", "seconds"),
            predict_rows=speech.batch_predict,
            what="recordings",
            reads="recordings",
            chunk_rows=1,  # Whisper takes one recording at a time; progress moves file by file
            write_extras=speech.write_subtitle_zip,
        ),
        TaskBatch(
            task=image_classification.TASK,
            load=image_classification.load,
            api_name="batch_classify_image",
            family="classification",
            fields=("prediction", "score"),
            predict_rows=image_classification.batch_predict,
            model_labels=image_classification.model_labels,
            what="pictures",
            reads="pictures",
            chunk_rows=16,  # decoded at full size before resizing: 16 large photos are already hundreds of MB
        ),
    )
}


def spec_for(task: str) -> TaskBatch:
    """The batch spec of a task."""
    spec = SPECS.get(task)
    if spec is None:
        raise UserError(
            "The task '{task}' cannot run on files; choose one of {tasks}.", task=task, tasks=", ".join(SPECS)
        )
    return spec
