"""Framework-free ML core: models, data preparation, losses, metrics, training, artifacts.

Nothing here imports Django, so it runs in a notebook or on a GPU worker as it is.
"""
