"""The training loop behind CNNClassifier.fit, airbench94's recipe:

data (alternating flips + random translation, optionally reframing as photos: ``zoom``) ->
Nesterov SGD on the summed, label-smoothed loss with per-group learning rates -> triangular LR
schedule -> lookahead averaging every 5 steps -> a checkpoint after every epoch, from which an
interrupted fit resumes.

It runs on Keras' TensorFlow backend (the default, CPU or GPU) or its JAX backend
(``KERAS_BACKEND=jax``: for a GPU where TensorFlow has none, e.g. JAX's CUDA build). Everything but
taking the gradient is written once in ``keras.ops``; checkpoints are the same numpy arrays on both.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import keras
import numpy as np
from keras import ops

from ml.training.augment import zoom

LOOKAHEAD_EVERY = 5


def triangle(step: int, total: int, start=0.2, peak_at=0.23, end=0.07) -> float:
    """LR multiplier: linear warm-up from ``start`` to 1 at ``peak_at`` of training, then down to ``end``."""
    peak = int(peak_at * total)
    if step < peak:
        return start + (1 - start) * step / max(peak, 1)
    return 1 + (end - 1) * (step - peak) / max(total - peak, 1)


# airbench94's triangle, and airbench96's shorter warm-up (10 %) with a warm-down all the way to 0.
LR_SCHEDULES = {
    "triangle": triangle,
    "warmup_linear": lambda step, total: triangle(step, total, peak_at=0.1, end=0.0),
}


class Trainer:
    def __init__(self, model: keras.Model, params, n_train: int, checkpoint: Path | None = None,
                 outliers: np.ndarray | None = None):
        self.model = model
        self.p = params
        self.checkpoint = checkpoint
        # Outlier exposure: pictures of none of the classes, trained towards uniform probabilities.
        use_outliers = outliers is not None and len(outliers) and params.outlier_weight > 0
        self.outliers = outliers if use_outliers else None
        self.outlier_rng = np.random.default_rng(params.random_state + 1)
        self.batch_size = min(params.batch_size, n_train)
        self.steps_per_epoch = max(1, n_train // self.batch_size)
        self.total_steps = max(1, round(params.epochs * self.steps_per_epoch))
        self.whiten_bias_steps = int(params.whiten_bias_epochs * self.steps_per_epoch)
        self.schedule = LR_SCHEDULES[params.lr_schedule]

        # airbench: lr and weight decay in units that do not change with momentum or batch size.
        kilostep_scale = 1024 * (1 + 1 / (1 - params.momentum))
        lr = params.learning_rate / kilostep_scale
        wd = params.weight_decay * self.batch_size / kilostep_scale
        self.variables, self.lrs, self.decays = [], [], []
        for layer in model.layers:
            for variable in layer.trainable_weights:
                if layer.name == "whiten" and variable is layer.kernel:
                    continue  # the whitening filters stay as computed from the data
                is_norm = isinstance(layer, keras.layers.BatchNormalization)
                group_lr = lr * params.bias_scaler if is_norm else lr
                self.variables.append(variable)
                self.lrs.append(group_lr)
                self.decays.append(wd / group_lr)  # torch SGD's weight_decay: decay = lr * this
        self.whiten_bias_index = next(
            i for i, v in enumerate(self.variables) if v is model.get_layer("whiten").bias)
        self.momenta = [keras.Variable(np.zeros(v.shape, "float32"), trainable=False, autocast=False)
                        for v in self.variables]
        self.lookahead = [keras.Variable(np.asarray(v), trainable=False, autocast=False)
                          for v in model.weights]
        backend = keras.config.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            self._train_step = tf.function(self._tf_step, reduce_retracing=True)
            self._lookahead_step = tf.function(self._lookahead_update)
        elif backend == "jax":
            self._train_step = self._jax_train_step()
            self._lookahead_step = self._lookahead_update
        else:
            raise RuntimeError(f"training needs Keras' tensorflow or jax backend, not {backend}")

    # ------------------------------------------------------------------ one step

    def _loss(self, images, labels, outlier_images=None, forward=None):
        """The summed, label-smoothed cross-entropy of one batch, its number of correct answers, and
        ``forward``'s extra result (the JAX step's BatchNorm statistics). ``forward(images)`` runs
        the network in training mode: the model itself, or its stateless call under JAX.

        With ``outlier_images``, outlier exposure (Hendrycks et al., 2019): plus the cross-entropy
        to the uniform distribution of pictures of none of the classes, weighted
        ``outlier_weight`` per in-class picture. They share the class images' batch, as in the
        paper, so BatchNorm treats both alike in training and at inference. Sent through
        inference-mode BatchNorm instead (``OUTLIER_EXPOSURE_VERSION`` 2, to keep the running
        statistics those of class pictures), the airbench96-size nets learnt to be uniform in
        inference mode while still fitting their training batches (~91 %): validation accuracy
        fell from 92 % to 42-56 % after one epoch of fine-tuning, or the loss diverged."""
        forward = forward or (lambda x: (self.model(x, training=True), None))
        if outlier_images is None:
            logits, state = forward(images)
            logits = ops.cast(logits, "float32")
        else:
            n_in = ops.shape(images)[0]
            both, state = forward(ops.concatenate([images, outlier_images], axis=0))
            both = ops.cast(both, "float32")
            logits, outlier_logits = both[:n_in], both[n_in:]
        n_classes = self.model.output_shape[-1]
        smoothing = self.p.label_smoothing
        targets = ops.one_hot(labels, n_classes) * (1 - smoothing) + smoothing / n_classes
        loss = -ops.sum(targets * ops.log_softmax(logits))
        if outlier_images is not None:
            to_uniform = -ops.mean(ops.log_softmax(outlier_logits), axis=-1)
            scale = self.p.outlier_weight * (ops.cast(n_in, "float32")
                                             / ops.cast(ops.shape(outlier_images)[0], "float32"))
            loss = loss + scale * ops.sum(to_uniform)
        correct = ops.sum(ops.cast(ops.equal(ops.argmax(logits, -1), ops.cast(labels, "int32")),
                                   "float32"))
        return loss, correct, state

    def _sgd(self, i, variable, grad, buffer, lr_factor, whiten_bias_on):
        """Nesterov SGD with decoupled weight decay, per-group learning rates: variable ``i``'s new
        value and momentum buffer."""
        grad = grad + self.decays[i] * variable
        buffer = self.p.momentum * buffer + grad
        step = self.lrs[i] * lr_factor * (grad + self.p.momentum * buffer)
        if i == self.whiten_bias_index:
            step = step * whiten_bias_on
        return variable - step, buffer

    def _tf_step(self, images, labels, lr_factor, whiten_bias_on, outlier_images=None):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, correct, _ = self._loss(images, labels, outlier_images)
        grads = tape.gradient(loss, self.variables)
        for i, (variable, grad, buffer) in enumerate(zip(self.variables, grads, self.momenta)):
            value, momentum = self._sgd(i, variable, grad, buffer, lr_factor, whiten_bias_on)
            buffer.assign(momentum)
            variable.assign(value)
        return loss, correct

    def _jax_train_step(self):
        """The step as one compiled JAX function of the network's values, which are read from and
        written back to the Keras variables around it (so lookahead and checkpoints see them)."""
        import jax

        model = self.model
        trainable, frozen = model.trainable_variables, model.non_trainable_variables
        # Which optimizer slot each trainable variable has (None: the whitening filters, fixed).
        slot = [next((i for i, v in enumerate(self.variables) if v is t), None) for t in trainable]

        def compute(trainable_values, frozen_values, momenta, images, labels, lr_factor,
                    whiten_bias_on, outlier_images):
            def loss_of(trainable_values):
                def forward(x):
                    return model.stateless_call(trainable_values, frozen_values, x, training=True)
                loss, correct, new_frozen = self._loss(images, labels, outlier_images, forward)
                return loss, (correct, new_frozen)

            (loss, (correct, new_frozen)), grads = jax.value_and_grad(loss_of, has_aux=True)(
                trainable_values)
            new_trainable, new_momenta = list(trainable_values), list(momenta)
            for j, i in enumerate(slot):
                if i is not None:
                    new_trainable[j], new_momenta[i] = self._sgd(
                        i, trainable_values[j], grads[j], momenta[i], lr_factor, whiten_bias_on)
            return new_trainable, new_frozen, new_momenta, loss, correct

        compiled = jax.jit(compute)

        def step(images, labels, lr_factor, whiten_bias_on, outlier_images=None):
            new_trainable, new_frozen, new_momenta, loss, correct = compiled(
                [v.value for v in trainable], [v.value for v in frozen],
                [m.value for m in self.momenta], images, labels, lr_factor, whiten_bias_on,
                outlier_images)
            for variables, values in ((trainable, new_trainable), (frozen, new_frozen),
                                      (self.momenta, new_momenta)):
                for variable, value in zip(variables, values):
                    variable.assign(value)
            return loss, correct

        return step

    def _lookahead_update(self, decay):
        for average, weight in zip(self.lookahead, self.model.weights):
            average.assign(average + (1 - decay) * (weight - average))
            weight.assign(average)

    # ------------------------------------------------------------------ epochs

    def train(self, X, y, validation_data=None) -> dict:
        p = self.p
        rng = np.random.default_rng(p.random_state)
        flip_mask = rng.random(len(X)) < 0.5
        pad = int(p.translate)
        padded = np.pad(X, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect") if pad else X
        history = {"epoch": [], "loss": [], "accuracy": [], "val_accuracy": [], "seconds": []}
        step, first_epoch = 0, 0
        state = self._load_checkpoint()
        if state is not None:
            step, first_epoch, history = state["step"], state["epoch"] + 1, state["history"]
            rng.bit_generator.state = state["rng"]
            if "outlier_rng" in state:
                self.outlier_rng.bit_generator.state = state["outlier_rng"]
            if p.verbose:
                print(f"resuming from {self.checkpoint} after epoch {first_epoch}")

        n_epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        for epoch in range(first_epoch, n_epochs):
            started = time.perf_counter()
            images = self._augment(padded, X.shape[1], flip_mask, epoch, pad, rng)
            if p.zoom_out or p.zoom_in:
                zoom(images, float(p.zoom_out), float(p.zoom_in), rng)
            if p.cutout:
                self._cutout(images, int(p.cutout), rng)
            order = rng.permutation(len(X))
            steps = min(self.steps_per_epoch, self.total_steps - step)
            bar = keras.utils.Progbar(steps, verbose=1 if p.verbose else 0,
                                      stateful_metrics=["loss", "accuracy"])
            if p.verbose:
                print(f"epoch {epoch + 1}/{n_epochs}")
            loss_sum = correct_sum = seen = 0.0
            for i in range(steps):
                batch = order[i * self.batch_size:(i + 1) * self.batch_size]
                inputs = (images[batch], y[batch],
                          np.float32(self.schedule(step, self.total_steps)),
                          np.float32(1.0 if step < self.whiten_bias_steps else 0.0))
                if self.outliers is not None:
                    inputs += (self._outlier_batch(len(batch)),)
                loss, correct = self._train_step(*map(ops.convert_to_tensor, inputs))
                step += 1
                if step % LOOKAHEAD_EVERY == 0:
                    self._lookahead_step(ops.convert_to_tensor(
                        np.float32(0.95**5 * (step / self.total_steps) ** 3)))
                loss_sum += float(loss)
                correct_sum += float(correct)
                seen += len(batch)
                bar.update(i + 1, [("loss", loss_sum / seen), ("accuracy", correct_sum / seen)])
            if step >= self.total_steps:
                self._lookahead_step(ops.convert_to_tensor(np.float32(1.0)))  # end on the averaged weights
            history["epoch"].append(epoch + 1)
            history["loss"].append(loss_sum / max(seen, 1))
            history["accuracy"].append(correct_sum / max(seen, 1))
            history["val_accuracy"].append(self.accuracy(*validation_data) if validation_data else None)
            history["seconds"].append(time.perf_counter() - started)
            if p.verbose and validation_data:
                print(f"  val_accuracy {history['val_accuracy'][-1]:.4f}")
            self._save_checkpoint(step, epoch, history, rng)
        return history

    def _outlier_batch(self, n_in: int) -> np.ndarray:
        """Half as many outlier pictures as in-class ones, drawn at random, half of them mirrored."""
        chosen = self.outlier_rng.integers(0, len(self.outliers), size=max(1, n_in // 2))
        batch = self.outliers[chosen]
        flip = self.outlier_rng.random(len(batch)) < 0.5
        batch[flip] = batch[flip, :, ::-1]
        return batch

    @staticmethod
    def _augment(padded, size, flip_mask, epoch, pad, rng):
        """Random translation by up to ``pad`` pixels, and airbench's alternating flips: a fixed
        random half of the images is flipped on even epochs, the other half on odd ones."""
        n = len(padded)
        if pad:
            shifts = rng.integers(0, 2 * pad + 1, size=(n, 2))
            images = np.empty((n, size, size, padded.shape[-1]), dtype=padded.dtype)
            for dy in range(2 * pad + 1):
                for dx in range(2 * pad + 1):
                    chosen = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
                    images[chosen] = padded[chosen, dy:dy + size, dx:dx + size]
        else:
            images = padded.copy()
        flip = flip_mask ^ bool(epoch % 2)
        images[flip] = images[flip, :, ::-1]
        return images

    @staticmethod
    def _cutout(images, size, rng):
        """Blank one random ``size`` x ``size`` square per image, in place (DeVries & Taylor, 2017;
        airbench96). Zero is the mean colour: the images are normalised."""
        n, h, w = images.shape[:3]
        size = min(size, h, w)
        top = rng.integers(0, h - size + 1, size=n)
        left = rng.integers(0, w - size + 1, size=n)
        rows = np.arange(h)[None, :, None]
        cols = np.arange(w)[None, None, :]
        inside = ((rows >= top[:, None, None]) & (rows < top[:, None, None] + size)
                  & (cols >= left[:, None, None]) & (cols < left[:, None, None] + size))
        images[inside] = 0.0

    def accuracy(self, X, y, batch: int = 1000) -> float:
        correct = 0
        for i in range(0, len(X), batch):
            logits = self.model(X[i:i + batch], training=False)
            correct += int(np.sum(np.argmax(np.asarray(logits), axis=1) == y[i:i + batch]))
        return correct / max(len(X), 1)

    # ------------------------------------------------------------------ checkpoints

    def _save_checkpoint(self, step, epoch, history, rng):
        if not self.checkpoint:
            return
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        arrays = {f"w{i}": np.asarray(w) for i, w in enumerate(self.model.get_weights())}
        arrays |= {f"m{i}": ops.convert_to_numpy(m) for i, m in enumerate(self.momenta)}
        arrays |= {f"a{i}": ops.convert_to_numpy(a) for i, a in enumerate(self.lookahead)}
        meta = {"step": step, "epoch": epoch, "history": history, "rng": rng.bit_generator.state}
        if self.outliers is not None:
            meta["outlier_rng"] = self.outlier_rng.bit_generator.state
        tmp = self.checkpoint.with_suffix(".tmp.npz")
        np.savez(tmp, meta=np.array(json.dumps(meta)), **arrays)
        tmp.replace(self.checkpoint)  # atomic: a kill mid-write leaves the previous checkpoint

    def _load_checkpoint(self):
        if not self.checkpoint or not self.checkpoint.exists():
            return None
        with np.load(self.checkpoint, allow_pickle=False) as saved:
            meta = json.loads(str(saved["meta"]))
            self.model.set_weights([saved[f"w{i}"] for i in range(len(self.model.weights))])
            for i, m in enumerate(self.momenta):
                m.assign(saved[f"m{i}"])
            for i, a in enumerate(self.lookahead):
                a.assign(saved[f"a{i}"])
        return meta
