"""Training the model, the steps of ``make train`` (``python -m ml ...``): the recipe and its
hyperparameters (``recipe``), the data (``data``), the Keras network (``network``), its training
loop and augmentation (``loop``, ``augment``, ``keras_fit``), grid search (``search``), the final
fit (``final_fit``), outlier exposure (``outliers``), int8 quantization (``quantization``),
calibration (``calibrate``), and shipping a finished run (``ship``). Needs the ``train`` extra.
"""
