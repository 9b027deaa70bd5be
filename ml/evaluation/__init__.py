"""Measuring a model: accuracy and per-class scores (``metrics``), honest confidence (``confidence``),
validation images framed as photos (``shifts``), real photos (``photos``), and the figures and model
card written next to an artifact (``reports``)."""
