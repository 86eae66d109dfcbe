"""Run a check's body at the start of a roomy frame stack, so CPython does not map and unmap memory
on every deep call.

Since 3.11 CPython keeps a thread's Python frames in chunks of 16 KiB, each taken from the OS with
mmap, and a chunk is given back (munmap) as soon as the frame that opened it returns. A test body
whose calls (hypothesis drawing, schemathesis' recursive coverage phase, a state machine) go up and
down across a chunk's end opens and frees a chunk at every crossing: under pytest, pluggy and our
plugin, the schema layer of one Sendbird run did that ~14,600 times (strace: 14,634 16 KiB mmaps,
against 1,706 for plain `st run` on the same spec), ~0.1 s of system time in a 2.2 s run.

`call_on_fresh_stack` calls through one frame sized so that CPython opens a 128 KiB chunk for it and
runs the body in what is left of that chunk (~8,000 slots, a few hundred ordinary frames deep): the
body's own calls then rarely reach a chunk's end. Chunk sizes are CPython internals
(Python/pystate.c, push_chunk: a chunk is 16 KiB doubled until it holds the frame plus 1,000
slots), not an API: on an interpreter that lays frames out otherwise this is one ordinary call
through a function with many unused locals, and costs nothing measurable. No library offers this.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

_UNUSED_LOCALS = 8200  # > 16 KiB / 8 bytes, so the frame cannot fit a 16 KiB chunk; 8 bytes x 9,200 needs 128 KiB

Result = TypeVar("Result")


def _big_frame_function() -> Callable[..., Any]:
    # Locals named in a branch that never runs still get a slot in the frame (the compiler's symbol
    # table counts them before the branch is dropped), so the frame is large and the code is short.
    names = " = ".join(f"_{i}" for i in range(_UNUSED_LOCALS))
    source = ("def call_on_fresh_stack(function, *args, **kwargs):\n"
              "    if False:\n"
              f"        {names} = None\n"
              "    return function(*args, **kwargs)\n")
    namespace: dict[str, Any] = {}
    exec(compile(source, __file__, "exec"), namespace)  # noqa: S102 - fixed source built above
    return namespace["call_on_fresh_stack"]


_call = _big_frame_function()


def call_on_fresh_stack(function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """function(*args, **kwargs), with its frames at the start of a fresh, large stack chunk."""
    return _call(function, *args, **kwargs)

