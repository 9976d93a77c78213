"""Layer kernels with hls4ml's arithmetic, on int64 mantissas (numpy; no hls4ml, no TF).

Dense and convolution follow nnet_dense_latency.h / nnet_conv*_latency.h: every product
``data × weight`` is cast to ``accum_t``, the accumulator starts from the bias cast to
``accum_t``, products are added in ``accum_t``, and the sum is cast to the result type.
Fast path (when it is provably the same): products fit ``accum_t`` without rounding or
overflow and the accumulator wraps, so the whole sum is one matrix product — done in float64
BLAS when ``n_in · max|x| · max|w| < 2^53`` (every partial sum is an exactly representable
integer), else in int64 — followed by one wrap.  Otherwise the general path casts each
product and accumulates step by step.
"""

from __future__ import annotations

from triggerml.emulator.kernels.base import Tensor, cast, holds_values, is_exact_identity
from triggerml.emulator.kernels.elementwise import batchnorm, merge, relu, resize_nearest, zero_pad
from triggerml.emulator.kernels.matmul import (
    Affine,
    ConvGeometry,
    FusedPool,
    conv,
    dense,
    fast_path,
    im2col_2d,
    matmul_accumulate,
)
from triggerml.emulator.kernels.pooling import average, global_pool, pool, tiles
from triggerml.emulator.kernels.tables import (
    SoftmaxTables,
    elu,
    elu_table,
    hard_activation,
    sigmoid,
    sigmoid_table,
    softmax,
    softmax_legacy,
)

__all__ = [
    "Affine",
    "ConvGeometry",
    "FusedPool",
    "SoftmaxTables",
    "Tensor",
    "average",
    "batchnorm",
    "cast",
    "conv",
    "dense",
    "elu",
    "elu_table",
    "fast_path",
    "global_pool",
    "hard_activation",
    "holds_values",
    "im2col_2d",
    "is_exact_identity",
    "matmul_accumulate",
    "merge",
    "pool",
    "relu",
    "resize_nearest",
    "sigmoid",
    "sigmoid_table",
    "softmax",
    "softmax_legacy",
    "tiles",
    "zero_pad",
]
