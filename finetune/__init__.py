"""Fine-tuning a text classifier: data checks, training, evaluation, the CLI and the app tab."""
