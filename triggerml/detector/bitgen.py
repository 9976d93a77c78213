"""A ``np.random.Generator`` handed to numba kernels as plain addresses.

numba can take a Generator argument and draws numpy's own numbers from it (its algorithms
are numpy's), but it unboxes that argument through Python calls (``ctypes.cast`` on each
call), and a signal handler that raises there loses its exception: a segfault or a
``SystemError`` instead of Ctrl-C's ``KeyboardInterrupt`` or the CLI's SIGTERM exit.  So the
caller reads the bit generator's state and function addresses once, in Python
(:func:`addresses`), and passes them as a ``uint64`` array — an argument numba unboxes in C
without running Python — and the kernel rebuilds numba's Generator value from them
(:func:`generator_at`): the same struct numba's unboxing fills, with no Python object
behind it.  Draws are then numpy's, from the caller's generator, leaving it where numpy
would.

The addresses are valid while the Generator lives: hold it for as long as they are used.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numba
import numpy as np
from numba.core import cgutils, types
from numba.core.extending import intrinsic

GENERATOR = types.npy_rng  # every Generator is this one numba type
BIT_GENERATOR = types.npy_bitgen


def addresses(rng: np.random.Generator) -> np.ndarray:
    """The generator's state, ``next_uint64``/``next_uint32``/``next_double`` and bit
    generator addresses, in :func:`generator_at`'s order."""
    interface = rng.bit_generator.ctypes

    def address(pointer: Any) -> int:
        return int(ctypes.cast(pointer, ctypes.c_void_p).value or 0)

    out = np.array(
        [
            interface.state_address,
            address(interface.state),
            address(interface.next_uint64),
            address(interface.next_uint32),
            address(interface.next_double),
            address(interface.bit_generator),
        ],
        dtype=np.uint64,
    )
    if not out.all():
        raise ValueError(f"{type(rng.bit_generator).__name__} exposes a null address")
    return out


@intrinsic
def _generator_from(typingctx, state_address, state, next_u64, next_u32, next_double, bitgen):
    """numba's Generator struct from six addresses (its parent object and meminfo null)."""
    sig = GENERATOR(state_address, state, next_u64, next_u32, next_double, bitgen)

    def codegen(context, builder, signature, args):
        uintp = context.get_value_type(types.uintp)
        values = [builder.zext(a, uintp) if a.type.width < uintp.width else a for a in args]
        inner = cgutils.create_struct_proxy(BIT_GENERATOR)(context, builder)
        inner.parent = cgutils.get_null_value(inner.parent.type)
        inner.state_address = values[0]
        inner.state = values[1]
        inner.fnptr_next_uint64 = values[2]
        inner.fnptr_next_uint32 = values[3]
        inner.fnptr_next_double = values[4]
        inner.bit_generator = values[5]
        outer = cgutils.create_struct_proxy(GENERATOR)(context, builder)
        outer.bit_generator = inner._getvalue()
        outer.meminfo = cgutils.get_null_value(outer.meminfo.type)
        outer.parent = cgutils.get_null_value(outer.parent.type)
        return outer._getvalue()

    return sig, codegen


@numba.njit(cache=True, nogil=True)
def generator_at(where: np.ndarray):
    """The Generator whose :func:`addresses` ``where`` holds, for numba code."""
    return _generator_from(  # type: ignore[call-arg]  # numba passes the typing context
        numba.uint64(where[0]),
        numba.uint64(where[1]),
        numba.uint64(where[2]),
        numba.uint64(where[3]),
        numba.uint64(where[4]),
        numba.uint64(where[5]),
    )
