"""Evaluation on the validation split: accuracy, precision/recall/F1, confusion matrix, mistakes."""

from __future__ import annotations


def classification_metrics(references: list[int], predictions: list[int], label_names: list[str]) -> dict:
    """Accuracy; macro, weighted and micro precision/recall/F1; per-class scores; the confusion matrix."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    labels = list(range(len(label_names)))
    metrics: dict = {"accuracy": round(float(accuracy_score(references, predictions)), 5)}
    for average in ("macro", "weighted", "micro"):
        p, r, f, _ = precision_recall_fscore_support(
            references, predictions, labels=labels, average=average, zero_division=0
        )
        metrics[average] = {"precision": round(float(p), 5), "recall": round(float(r), 5), "f1": round(float(f), 5)}
    p, r, f, support = precision_recall_fscore_support(
        references, predictions, labels=labels, average=None, zero_division=0
    )
    metrics["per_class"] = {
        name: {
            "precision": round(float(p[i]), 5),
            "recall": round(float(r[i]), 5),
            "f1": round(float(f[i]), 5),
            "support": int(support[i]),
        }
        for i, name in enumerate(label_names)
    }
    metrics["confusion_matrix"] = confusion_matrix(references, predictions, labels=labels).tolist()
    metrics["labels"] = list(label_names)
    metrics["validation_rows"] = len(references)
    return metrics


def misclassified(
    texts: list[str], references: list[int], predictions: list[int], label_names: list[str], limit: int = 10
) -> list[dict]:
    """A few validation examples the model got wrong (texts, or images' names), with the true and predicted labels."""
    wrong = [
        {
            "text": text if len(text) <= 300 else text[:299] + "…",
            "true": label_names[ref],
            "predicted": label_names[pred],
        }
        for text, ref, pred in zip(texts, references, predictions)
        if ref != pred
    ]
    return wrong[:limit]


def plot_confusion_matrix(
    matrix: list[list[int]], label_names: list[str], path: str, title: str = "Confusion matrix (validation)"
) -> str:
    """Save the confusion matrix as a PNG picture; rows are true labels, columns predictions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.6 * len(label_names) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size * 0.85), dpi=110)
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(label_names)), label_names, rotation=45, ha="right")
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set_xlabel("Predicted")
    ax.set_ylabel("True")
    ax.set_title(title)
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            ax.text(j, i, str(value), ha="center", va="center", color="white" if value > peak / 2 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
