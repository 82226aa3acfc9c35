"""Run a whole file through a task's model and, given references, score it: the runner, the specs of the tasks
that run on files, evaluation (with its command line, `python -m batch.evaluate`) and the "Run on a file"
section each tab gets from app.py."""
