"""Training, export and evaluation of the age+gender model (needs the ``train`` extra: TensorFlow/Keras)."""
