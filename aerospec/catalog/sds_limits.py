"""Read a safety data sheet in a child process with memory, time and page limits.

A PDF of a few dozen KB can hold a content stream that inflates to 50 MB of drawing operators:
read in the worker itself it kept the only worker busy for minutes at about 1 GB, and every
tenant's emails, billing events and order sends waited. So the parser (`catalog.sds`, pure) runs in
a fresh Python process that knows only its own limits:

- memory: `RLIMIT_AS` (address space) set by the child on itself before it reads anything, so an
  allocation past the limit raises MemoryError in the child (exit status 3), never in the worker;
- time: the parent waits `timeout` seconds of wall-clock time, then kills the child (SIGKILL);
  `RLIMIT_CPU` a little above it stops a child whose parent died;
- pages: more than `max_pages` pages is refused before any page is read.

Each limit fails the sheet with its own message for the SDS page (SdsParseError: too_much_memory,
too_slow, too_many_pages); the parent never holds more than the file's bytes and the JSON answer.

The child is this file run as a script. It must not import the `aerospec` package (that would load
Flask, SQLAlchemy and numpy: some 330 MB of address space before the first page), so it registers
`aerospec` and `aerospec.catalog` as bare namespace modules and imports only `catalog.sds` and
`catalog.units`, which need nothing else.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CHILD = Path(__file__).resolve()
ROOT = CHILD.parent.parent.parent  # the checkout: aerospec/ lives here
EXIT_MEMORY = 3  # the child ran out of its address space
CPU_GRACE_SECONDS = 2  # RLIMIT_CPU = timeout + this: only for a child whose parent is gone


@dataclass(frozen=True)
class ParseLimits:
    """What reading one sheet may use."""

    memory_mb: int = 256
    timeout_seconds: float = 20.0
    max_pages: int = 50

    @classmethod
    def from_config(cls, config: Mapping) -> ParseLimits:
        """The limits the app is configured with (SDS_PARSE_MEMORY_MB, _TIMEOUT_SECONDS, _MAX_PAGES)."""
        return cls(
            memory_mb=int(config.get("SDS_PARSE_MEMORY_MB", cls.memory_mb)),
            timeout_seconds=float(config.get("SDS_PARSE_TIMEOUT_SECONDS", cls.timeout_seconds)),
            max_pages=int(config.get("SDS_PARSE_MAX_PAGES", cls.max_pages)),
        )


def too_much_memory_message(limits: ParseLimits) -> str:
    return (
        f"This PDF needs more than {limits.memory_mb} MB of memory to read (its pages hold far more drawing "
        "data than a safety data sheet does), so we stopped. Print it to a new PDF, or ask the supplier for "
        "another copy, and upload that; or type the values in instead."
    )


def too_slow_message(limits: ParseLimits) -> str:
    return (
        f"Reading this PDF took longer than {limits.timeout_seconds:g} seconds, so we stopped (a safety data "
        "sheet takes about a second). Print it to a new PDF, or ask the supplier for another copy, and upload "
        "that; or type the values in instead."
    )


def parse_isolated(content: bytes, limits: ParseLimits | None = None):
    """`sds.parse_sds(content)` in a child process within `limits`; raises SdsParseError on any limit."""
    from aerospec.catalog import sds

    limits = limits or ParseLimits()
    started = time.monotonic()
    child = subprocess.Popen(  # noqa: S603 - our own interpreter running our own file; no shell, no user input
        [sys.executable, "-I", str(CHILD), str(limits.memory_mb), str(limits.timeout_seconds), str(limits.max_pages)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
        start_new_session=True,  # a Ctrl-C or a group signal meant for the worker is not the child's
    )
    try:
        out, err = child.communicate(content, timeout=limits.timeout_seconds)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        log.warning("SDS parse stopped after %.1f s (limit %g s)", time.monotonic() - started, limits.timeout_seconds)
        raise sds.SdsParseError("too_slow", too_slow_message(limits)) from None
    finally:
        if child.poll() is None:  # an exception of ours (not the child's): leave nothing running
            child.kill()
            child.wait()
    elapsed = time.monotonic() - started
    if child.returncode == EXIT_MEMORY:
        log.warning("SDS parse ran out of its %d MB after %.1f s", limits.memory_mb, elapsed)
        raise sds.SdsParseError("too_much_memory", too_much_memory_message(limits))
    if child.returncode == -signal.SIGXCPU:
        raise sds.SdsParseError("too_slow", too_slow_message(limits))
    if child.returncode != 0:
        raise RuntimeError(f"SDS parser child exited with {child.returncode}: {err.decode(errors='replace')[-2000:]}")
    answer = json.loads(out)
    if "error" in answer:
        raise sds.SdsParseError(answer["error"]["code"], answer["error"]["message"])
    result = answer["result"]
    return sds.SdsExtraction(
        product_name=result["product_name"],
        items=[sds.ExtractedItem(**item) for item in result["items"]],
        pages=result["pages"],
    )


# ---- the child ----------------------------------------------------------------------------------


def _out_of_memory(error: BaseException | None) -> bool:
    """Whether a MemoryError is behind `error` (pdfminer and the parser may wrap what they catch)."""
    seen = 0
    while error is not None and seen < 20:
        if isinstance(error, MemoryError):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def _child(argv: list[str]) -> int:
    """Set the limits on this process, read the PDF from stdin, answer JSON on stdout."""
    import resource
    import types

    memory_mb, timeout_seconds, max_pages = int(argv[0]), float(argv[1]), int(argv[2])
    # SECURITY: the limits first, before a byte of the file is read.
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    cpu = int(timeout_seconds) + CPU_GRACE_SECONDS
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))

    sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != CHILD.parent]
    for name, folder in (("aerospec", ROOT / "aerospec"), ("aerospec.catalog", CHILD.parent)):
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]  # a namespace: its __init__ (the whole app) is not run
        sys.modules[name] = package

    from aerospec.catalog import sds

    content = sys.stdin.buffer.read()
    try:
        result = sds.parse_sds(content, max_pages=max_pages)
    except MemoryError:
        os._exit(EXIT_MEMORY)  # nothing more can be allocated, not even the answer
    except sds.SdsParseError as error:
        if _out_of_memory(error):
            os._exit(EXIT_MEMORY)
        answer = {"error": {"code": error.code, "message": error.message}}
    except Exception as error:
        if _out_of_memory(error):
            os._exit(EXIT_MEMORY)
        raise
    else:
        answer = {
            "result": {
                "product_name": result.product_name,
                "items": [item.to_dict() for item in result.items],
                "pages": result.pages,
            }
        }
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
