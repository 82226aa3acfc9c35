"""Readers of every file a user uploads: tables, picture archives, tagged sentences, recordings.

Both features that read uploads (fine-tuning and batch runs) stand on these; a reader raises
`studio.errors.DataError` with one sentence that says what is wrong and what to do.
"""
