"""``borrowed(a)``: the same array without its reference-count handle, for the backtest kernel's own use.

Every numba helper the kernel inlines (``_open``, ``_close``, ``_fill``...) binds its array arguments to new
variables, and numba counts each binding with an atomic increment and decrement of the array's reference count:
about twenty pairs per signal flip, a quarter of a million-bar backtest's time. A view without the handle
(meminfo NULL, as ``numba.carray`` makes) turns those into a null test. It is only ever used inside the call
that received ``a``: the caller's own reference keeps the memory alive for as long as the view is used.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def borrowed(typingctx, arr):
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        view = context.make_array(arr)(context, builder, value=args[0])
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()

    return arr(arr), codegen
