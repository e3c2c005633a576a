"""Training DiffUIR: the authors' recipe, resumable, on one device or under torchrun.

- ``config``: :class:`TrainConfig`, TOML files, option precedence (no torch)
- ``sources`` / ``plan``: where the images come from and how the tasks mix
- ``stream``: the crops, a pure function of (seed, sample index), and the loader
- ``ema``: the weight average, as the authors' ``ema_pytorch`` keeps it
- ``checkpoint``: the authors' checkpoint format (+ uir's resume extras)
- ``validation``: the fixed held-out crops, restored with the EMA weights, scored
- ``logs`` / ``plots``: train.csv, val.csv, loss.png, val.png
- ``distributed``: torchrun / DDP
- ``trainer``: the loop; ``train(config, progress=...)`` is the entry point
- ``events``: what the trainer reports (the CLI renders it)
"""
