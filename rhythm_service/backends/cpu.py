"""The ``cpu`` backend: the beat network as a numpy forward pass, in float or in hls4ml's fixed point.

``arithmetic="float"``: the quantized weights of ``model/weights.npz`` in float32 with QKeras'
``quantized_relu`` and an exact sigmoid: Keras' (and ``hls_model.numpy_model.forward``'s) output.

``arithmetic="fixed"``: the hls4ml C emulation's arithmetic, bit for bit, from the packaged
project's firmware (``hls_firmware.read_firmware``): inputs truncated to the input type, weights
and biases converted to their types, products and sums in the accumulator type (wrapping), the
result cast to each layer's result type with its quantization (``AP_TRN``, ``AP_RND_CONV``...)
and overflow mode (``AP_WRAP``, ``AP_SAT``...), relu as ``x > 0 ? (res_t) x : 0``, and the sigmoid
as hls4ml's lookup table (``table_size`` entries over [-8, 8), built with the C library's ``expf``
exactly as ``init_sigmoid_table`` does, indexed with ``int(x * table_size / 16) + table_size / 2``).
Raw fixed-point values are held as integers in float64, which is exact: no value needs more than
48 bits, so matrix products of them are exact whatever the summation order.

One deliberate difference: an input outside the input type's range is saturated (as
``register_map.to_fixed`` encodes it for the card, and as the csim backend clips it), where the
bare C emulation would wrap. Normalised feature windows are clipped to +-8 and never get there.

The window's shape is the package's (``package.window.dims``: frames x features, flattened
frame-major into ``package.window.inputs`` values); the fixed-point network also checks that the
packaged hls4ml project takes that many inputs.

Example::

    backend = CpuBackend(ModelPackage.load(folder), arithmetic="fixed")
    backend.predict(windows)                 # (N, frames, features) -> (N,) float64
    backend.predict_one(windows[0])          # float
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rhythm_service.backends.hls_firmware import Firmware, FirmwareError, FixedType, Layer, read_firmware
from rhythm_service.model_package import ModelPackage

ARITHMETICS = ("fixed", "float")
CHUNK = 2048  # windows per block of a batch (keeps the intermediates in cache)
MAX_EXACT_BITS = 50  # float64 holds integers up to 2**53 exactly

Step = Callable[[np.ndarray], np.ndarray]


def check_windows(windows: Any, dims: tuple[int, int]) -> np.ndarray:
    """``windows`` as a C-contiguous float64 (N, frames x features) array; ValueError for a wrong shape or NaN.

    ``dims`` is the model's window, (frames, features) (``package.window.dims``). Infinite values
    are allowed: like any out-of-range value they saturate to the input format.

    Accepts (N, frames, features), (N, inputs), or one window (frames, features) / (inputs,).

    Example: ``check_windows(np.zeros((4, 16, 3)), (16, 3)).shape`` -> ``(4, 48)``.
    """
    inputs = dims[0] * dims[1]
    array = np.asarray(windows, dtype=np.float64)
    if array.ndim >= 1 and array.size == 0 and array.shape[0] == 0:
        return array.reshape(0, inputs)
    if array.shape in (dims, (inputs,)):
        array = array.reshape(1, inputs)
    elif array.ndim == 3 and array.shape[1:] == dims:
        array = array.reshape(len(array), inputs)
    elif not (array.ndim == 2 and array.shape[1] == inputs):
        raise ValueError(f"windows must have shape (N, {dims[0]}, {dims[1]}) or (N, {inputs}) for this model "
                         f"({dims[0]} frames x {dims[1]} features), got {array.shape}")
    if np.isnan(array).any():
        raise ValueError("windows contain NaN")
    return np.ascontiguousarray(array)


# ---------------------------------------------------------------- fixed-point conversions (ap_fixed)


def quantize(scaled: np.ndarray, mode: str) -> np.ndarray:
    """Round ``scaled`` (value x 2**fraction, any real) to an integer with an ap_fixed quantization mode.

    Example: ``quantize(np.array([2.5, -2.5]), "AP_RND_CONV")`` -> ``[2., -2.]``.
    """
    if mode == "AP_TRN":
        return np.floor(scaled)
    if mode == "AP_TRN_ZERO":
        return np.trunc(scaled)
    if mode == "AP_RND_CONV":
        return np.rint(scaled)  # half to even
    if mode == "AP_RND":
        return np.floor(scaled + 0.5)  # half towards +inf
    if mode == "AP_RND_MIN_INF":
        return np.ceil(scaled - 0.5)
    if mode == "AP_RND_ZERO":
        return np.where(scaled >= 0, np.ceil(scaled - 0.5), np.floor(scaled + 0.5))
    if mode == "AP_RND_INF":
        return np.where(scaled >= 0, np.floor(scaled + 0.5), np.ceil(scaled - 0.5))
    raise FirmwareError(f"unknown quantization mode {mode}")


def overflow(raw: np.ndarray, fixed: FixedType) -> np.ndarray:
    """Bring integer ``raw`` values into ``fixed``'s range with its overflow mode.

    Example: ``overflow(np.array([40000.]), FixedType(16, 6))`` -> ``[-25536.]`` (AP_WRAP).
    """
    low, high = fixed.raw_min, fixed.raw_max
    if fixed.overflow == "AP_WRAP":
        return np.mod(raw - low, float(1 << fixed.width)) + low
    if fixed.overflow == "AP_SAT":
        return np.clip(raw, low, high)
    if fixed.overflow == "AP_SAT_SYM":
        return np.clip(raw, -high if fixed.signed else 0, high)
    if fixed.overflow == "AP_SAT_ZERO":
        return np.where((raw < low) | (raw > high), 0.0, raw)
    raise FirmwareError(f"unknown overflow mode {fixed.overflow}")


def convert_raw(raw: np.ndarray, fraction: int, fixed: FixedType) -> np.ndarray:
    """ap_fixed assignment: raw integers with ``fraction`` fractional bits converted to ``fixed``'s raw.

    Example: ``convert_raw(np.array([3072.]), 11, FixedType(8, 3, False, "AP_RND_CONV", "AP_SAT"))`` -> ``[2.]``.
    """
    shift = fraction - fixed.fraction
    scaled = np.asarray(raw, dtype=np.float64) * 2.0**-shift
    return overflow(quantize(scaled, fixed.quantization) if shift > 0 else scaled, fixed)


def real_to_raw(values: np.ndarray, fixed: FixedType) -> np.ndarray:
    """ap_fixed construction from a double: the raw integers of ``values`` in ``fixed``.

    Example: ``real_to_raw(np.array([0.140625]), FixedType(8, 2))`` -> ``[9.]``.
    """
    scaled = np.asarray(values, dtype=np.float64) * 2.0**fixed.fraction
    return overflow(quantize(scaled, fixed.quantization), fixed)


def sigmoid_table(layer: Layer) -> np.ndarray:
    """hls4ml's ``init_sigmoid_table`` in the layer's ``table_t`` (raw), computed as the C++ does.

    ``in = float(16 * (i - N/2) / N)``; ``table[i] = table_t(float(1.0 / (1 + expf(-in))))``; expf
    comes from the C library, as in the compiled emulation.

    Example: ``sigmoid_table(layer)[512]`` -> ``512.0`` (0.5 in ap_fixed<18,8>).
    """
    size = layer.table_size
    inputs = (16.0 * (np.arange(size) - size / 2.0) / size).astype(np.float32)
    exponentials = _expf(-inputs)
    real = (1.0 / (np.float32(1) + exponentials).astype(np.float64)).astype(np.float32)
    return real_to_raw(real.astype(np.float64), layer.table)


def _expf(values: np.ndarray) -> np.ndarray:
    """float32 exp of each value with the C library's ``expf`` (numpy's own may differ by an ulp)."""
    name = ctypes.util.find_library("m")
    if name is None:
        return np.exp(values.astype(np.float32))
    expf = ctypes.CDLL(name).expf
    expf.restype, expf.argtypes = ctypes.c_float, [ctypes.c_float]
    return np.array([expf(float(v)) for v in values], dtype=np.float32)


# ---------------------------------------------------------------- the fixed-point network


@dataclass
class DenseStep:
    """``acc = h @ kernel + bias`` in raw accumulator units, then wrapped / cast when that can change it.

    ``plain`` is True when neither ever can (bounds checked at load): the step is then the bare
    matrix product, which lets a following rounding relu fold its scaling into ``kernel``/``bias``.
    """

    kernel: np.ndarray
    bias: np.ndarray
    accum: FixedType
    result: FixedType
    wraps: bool
    casts: bool

    @property
    def plain(self) -> bool:
        """No wrap and no cast: a bare matrix product plus bias."""
        return not (self.wraps or self.casts)

    def __call__(self, h: np.ndarray) -> np.ndarray:
        acc = h @ self.kernel
        acc += self.bias
        if self.wraps:
            acc = overflow(acc, self.accum)
        return convert_raw(acc, self.accum.fraction, self.result) if self.casts else acc


@dataclass
class RoundingReluStep:
    """``x > 0 ? (ap_ufixed<.., AP_RND_CONV, AP_SAT>) x : 0`` on raw values: scale, round half even, clip.

    ``dense`` set: the preceding plain dense layer fused in, its kernel and bias pre-scaled (exact:
    the scale is a power of two).
    """

    factor: np.ndarray
    zero: np.ndarray
    top: np.ndarray
    dense: DenseStep | None = None

    def __call__(self, h: np.ndarray) -> np.ndarray:
        if self.dense is None:
            h = np.multiply(h, self.factor)
        else:
            h = h @ self.dense.kernel
            h += self.dense.bias
        np.rint(h, out=h)
        np.maximum(h, self.zero, out=h)
        return np.minimum(h, self.top, out=h)


class FixedNetwork:
    """The C emulation's arithmetic as a list of numpy steps over raw values, prepared once.

    Example: ``FixedNetwork(read_firmware(project, "beat_detector"), package.weights).run(x)``.
    """

    def __init__(self, firmware: Firmware, weights: dict[str, np.ndarray]) -> None:
        self.firmware = firmware
        if firmware.input.quantization != "AP_TRN":
            raise FirmwareError(f"input type {firmware.input}: only AP_TRN inputs are supported")
        low, high = float(firmware.input.raw_min), float(firmware.input.raw_max)
        inputs = firmware.input_count
        self._scale = np.full(inputs, 2.0**firmware.input.fraction)
        self._low, self._high = np.full(inputs, low), np.full(inputs, high)
        self.sigmoid_scalar: Callable[[float], float] | None = None
        steps: list[Step] = []
        fraction, bounds = firmware.input.fraction, (low, high)
        dense_index = 0
        for position, layer in enumerate(firmware.layers):
            if layer.data.fraction != fraction:
                raise FirmwareError(f"layer {layer.name}: its input type does not follow the previous layer's")
            if layer.kind == "dense":
                dense_index += 1
                step, bounds = self._dense(layer, weights, dense_index, bounds)
            elif layer.kind in ("relu", "linear"):
                step, bounds = self._activation(layer)
            else:
                step, bounds = self._sigmoid(layer, real_output=position == len(firmware.layers) - 1)
            steps.append(step)
            fraction = layer.result.fraction
        if firmware.layers[-1].result != firmware.output:
            raise FirmwareError("the last layer's result type is not the top's output type")
        self.output_scale = 1.0 if firmware.layers[-1].kind == "sigmoid" else 2.0**-firmware.output.fraction
        self.steps = self._fuse(steps)
        last_dense = self.steps[-2] if len(self.steps) > 1 else None
        self._scalar_tail = None  # (kernel vector, bias) of a plain 1-output dense before the scalar sigmoid
        if self.sigmoid_scalar and isinstance(last_dense, DenseStep) and last_dense.plain and len(last_dense.bias) == 1:
            self._scalar_tail = (np.ascontiguousarray(last_dense.kernel[:, 0]), float(last_dense.bias[0]))

    @staticmethod
    def _fuse(steps: list[Step]) -> list[Step]:
        fused: list[Step] = []
        for step in steps:
            previous = fused[-1] if fused else None
            if isinstance(step, RoundingReluStep) and isinstance(previous, DenseStep) and previous.plain:
                factor = float(step.factor[0])
                dense = replace(previous, kernel=previous.kernel * factor, bias=previous.bias * factor)
                fused[-1] = replace(step, dense=dense)
            else:
                fused.append(step)
        return fused

    @staticmethod
    def _dense(layer: Layer, weights: dict[str, np.ndarray], index: int, bounds: tuple[float, float]):
        try:
            kernel, bias = weights[f"dense_{index}/kernel"], weights[f"dense_{index}/bias"]
        except KeyError as error:
            raise FirmwareError(f"layer {layer.name}: weights.npz has no {error.args[0]}") from error
        if kernel.shape != (layer.n_in, layer.n_out) or bias.shape != (layer.n_out,):
            raise FirmwareError(f"layer {layer.name}: weights {kernel.shape}/{bias.shape} do not fit "
                                f"{layer.n_in} -> {layer.n_out}")
        accum, result = layer.accum, layer.result
        w_raw, b_raw = real_to_raw(kernel, layer.weight), real_to_raw(bias, layer.bias)
        product_fraction = layer.data.fraction + layer.weight.fraction
        if product_fraction > accum.fraction or accum.width > MAX_EXACT_BITS:
            raise FirmwareError(f"layer {layer.name}: products finer than the accumulator {accum} need "
                                "per-product rounding, which the CPU backend does not do")
        scaled_kernel = np.ascontiguousarray(w_raw * 2.0 ** (accum.fraction - product_fraction))
        acc_bias = convert_raw(b_raw, layer.bias.fraction, accum)
        low_in, high_in = bounds
        low = acc_bias + np.minimum(scaled_kernel * low_in, scaled_kernel * high_in).sum(axis=0)
        high = acc_bias + np.maximum(scaled_kernel * low_in, scaled_kernel * high_in).sum(axis=0)
        magnitude = np.abs(acc_bias) + max(abs(low_in), abs(high_in)) * np.abs(scaled_kernel).sum(axis=0)
        wraps = bool(magnitude.max() > accum.raw_max)  # a partial sum could leave the accumulator's range
        if wraps and accum.overflow != "AP_WRAP":
            raise FirmwareError(f"layer {layer.name}: a saturating accumulator ({accum}) is not supported")
        casts = wraps or not (result.fraction == accum.fraction and result.raw_min <= low.min()
                              and high.max() <= result.raw_max)
        out_bounds = (float(result.raw_min), float(result.raw_max)) if casts else (float(low.min()), float(high.max()))
        return DenseStep(scaled_kernel, acc_bias, accum, result, wraps, casts), out_bounds

    @staticmethod
    def _activation(layer: Layer):
        source, result = layer.data, layer.result
        shift = source.fraction - result.fraction
        rectify = layer.kind == "relu"
        out_bounds = (float(result.raw_min), float(result.raw_max))
        if rectify and shift > 0 and result.quantization == "AP_RND_CONV" and result.overflow == "AP_SAT":
            n = layer.n_in  # array operands: cheaper than Python scalars in numpy calls
            return RoundingReluStep(np.full(n, 2.0**-shift), np.zeros(n), np.full(n, float(result.raw_max))), (
                0.0, float(result.raw_max))

        def activation(h: np.ndarray) -> np.ndarray:
            return convert_raw(np.maximum(h, 0.0) if rectify else h, source.fraction, result)

        return activation, out_bounds

    def _sigmoid(self, layer: Layer, real_output: bool):
        size = layer.table_size
        table = convert_raw(sigmoid_table(layer), layer.table.fraction, layer.result)
        if real_output:
            table = table * 2.0**-layer.result.fraction
        index_scale = size / 16.0 * 2.0**-layer.data.fraction  # int(x * size / 16): truncation towards 0
        table_list, half, last = table.tolist(), size // 2, size - 1

        def sigmoid(h: np.ndarray) -> np.ndarray:
            index = np.trunc(h * index_scale)
            index += half
            np.clip(index, 0, last, out=index)
            return table[index.astype(np.intp)]

        def sigmoid_scalar(value: float) -> float:
            return table_list[min(max(int(value * index_scale) + half, 0), last)]

        if real_output:
            self.sigmoid_scalar = sigmoid_scalar
        return sigmoid, (float(table.min()), float(table.max()))

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Input raw values of real windows (N, inputs) or one (inputs,): truncated to the input type, saturated."""
        raw = np.multiply(x, self._scale)
        np.floor(raw, out=raw)
        np.maximum(raw, self._low, out=raw)  # NaN stays NaN (np.maximum propagates it)
        return np.minimum(raw, self._high, out=raw)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Outputs (N,) float64 for real windows (N, inputs) float64 (NaN-free: see ``check_windows``)."""
        h = self.encode(x)
        for step in self.steps:
            h = step(h)
        return h.reshape(-1) * self.output_scale if self.output_scale != 1.0 else h.reshape(-1)

    def run_one(self, x: np.ndarray) -> float:
        """The output for one real window (inputs,) float64 (NaN for a window holding NaN).

        The batch steps on 1-D arrays, then (when the net ends in dense(1) + sigmoid) a dot product
        and a table lookup in Python scalars.
        """
        h = self.encode(x)
        if self._scalar_tail is None:
            for step in self.steps:
                h = step(h)
            return float(h[0]) * self.output_scale
        for step in self.steps[:-2]:
            h = step(h)
        kernel, bias = self._scalar_tail
        logit = float(h @ kernel) + bias
        return logit if logit != logit else self.sigmoid_scalar(logit)  # NaN has no table index


class FloatNetwork:
    """Keras' arithmetic: float32 layers with QKeras ``quantized_relu`` and the exact sigmoid."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        bits, integer = int(weights["relu/bits"]), int(weights["relu/integer_bits"])
        step = 2.0 ** (integer - bits)
        count = sum(1 for name in weights if name.endswith("/kernel"))
        self.layers = []
        for k in range(1, count + 1):
            kernel = weights[f"dense_{k}/kernel"].astype(np.float32)
            units = kernel.shape[1]
            constants = [np.full(units, v, dtype=np.float32) for v in (1.0 / step, step, 0.0, 2.0**integer - step)]
            self.layers.append((kernel, weights[f"dense_{k}/bias"].astype(np.float32), *constants))

    def _hidden(self, x: np.ndarray) -> np.ndarray:
        h = x.astype(np.float32)
        for kernel, bias, inverse_step, step, zero, top in self.layers[:-1]:
            h = h @ kernel
            h += bias
            np.multiply(h, inverse_step, out=h)  # quantized_relu: round half to even on the grid, clip
            np.rint(h, out=h)
            np.multiply(h, step, out=h)
            np.maximum(h, zero, out=h)
            np.minimum(h, top, out=h)
        return h @ self.layers[-1][0] + self.layers[-1][1]

    def run(self, x: np.ndarray) -> np.ndarray:
        """Outputs (N,) float64 for real windows (N, inputs)."""
        logits = self._hidden(x).reshape(-1).astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logits))

    def run_one(self, x: np.ndarray) -> float:
        """The output for one real window (inputs,)."""
        return float(1.0 / (1.0 + np.exp(-self._hidden(x)[:1].astype(np.float64)))[0])  # as ``run`` computes it


class CpuBackend:
    """Numpy inference from a model package, ``fixed`` (equal to the C emulation) or ``float`` (Keras).

    Example: ``CpuBackend(package).predict(np.zeros((2, *package.window.dims)))`` -> array of 2 probabilities.
    """

    name = "cpu"

    def __init__(self, package: ModelPackage, arithmetic: str = "fixed") -> None:
        if arithmetic not in ARITHMETICS:
            raise ValueError(f"cpu arithmetic must be one of {ARITHMETICS}, got {arithmetic!r}")
        self.package = package
        self.arithmetic = arithmetic
        if arithmetic == "fixed":
            firmware = read_firmware(package.hls_project, package.project_name)
            if firmware.input_count != package.window.inputs:
                raise FirmwareError(f"the hls4ml project's network takes {firmware.input_count} inputs, the "
                                    f"package's window is {package.window}")
            self.network: FixedNetwork | FloatNetwork = FixedNetwork(firmware, package.weights)
        else:
            self.network = FloatNetwork(package.weights)

    def predict(self, windows: Any) -> np.ndarray:
        """Beat probabilities (N,) float64 of normalised windows (N, frames, features) or (N, inputs).

        Example: ``backend.predict(np.zeros((5, *package.window.dims)))``.
        """
        x = check_windows(windows, self.package.window.dims)
        if len(x) <= CHUNK:
            return self.network.run(x)
        out = np.empty(len(x))
        for start in range(0, len(x), CHUNK):
            out[start : start + CHUNK] = self.network.run(x[start : start + CHUNK])
        return out

    def predict_one(self, window: Any) -> float:
        """The beat probability of one normalised window (frames, features) or (inputs,) (the lean single-window path).

        Example: ``backend.predict_one(np.zeros(package.window.dims))`` -> ``0.1...``.
        """
        x = np.asarray(window, dtype=np.float64)
        inputs = self.package.window.inputs
        if x.size != inputs:
            frames, features = self.package.window.dims
            raise ValueError(f"a window has shape ({frames}, {features}) or ({inputs},) for this model, got {x.shape}")
        value = self.network.run_one(x.reshape(inputs))
        if value != value:
            raise ValueError("the window contains NaN")
        return value

    def close(self) -> None:
        """Nothing to release (numpy arrays and a loaded library go with the object)."""

    def health(self) -> dict[str, Any]:
        """Backend name, arithmetic and the package identity."""
        return {"backend": self.name, "arithmetic": self.arithmetic, "model": self.package.describe()}
