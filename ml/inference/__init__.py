"""Serving the shipped model: load the artifact (``artifact``), turn any picture into the network's
input (``preprocessing``), run the CNN or the ensemble of CNNs on ONNX Runtime (``cnn``,
``ensemble``, ``onnx_graph``), explain a prediction (``explain``) and list the example pictures
(``examples``).

The web server imports this package and nothing of ``ml.training``: nothing here imports
TensorFlow or Keras at module level (fitting, which does, imports ``ml.training`` when called).
"""
