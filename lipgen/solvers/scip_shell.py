"""`lipgen-scip`: the genuine SCIP interactive shell from pyscipopt's wheel.

pyscipopt bundles libscip, which exports `SCIPrunShell(argc, argv, defaultsetname)`: the very function
SCIP's own `main()` calls. Running it with our argv gives the real shell with all its options
(`-l`, `-q`, `-s`, `-c`, `-b`, `-f`, ...), its logs and its solution files.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from importlib.util import find_spec
from pathlib import Path

SCIP_OKAY = 1  # SCIP_RETCODE of success

# Where wheels put the shared library: auditwheel (Linux), delocate (macOS), delvewheel (Windows).
_LIB_GLOBS = (("pyscipopt.libs", "libscip*.so*"), ("pyscipopt/.dylibs", "libscip*.dylib"),
              ("pyscipopt.libs", "libscip*.dll"), ("pyscipopt", "libscip*.so*"))


def find_libscip() -> Path | None:
    """Path of the libscip bundled with the installed pyscipopt, or None."""
    spec = find_spec("pyscipopt")
    if spec is None or not spec.submodule_search_locations:
        return None
    site = Path(list(spec.submodule_search_locations)[0]).parent
    for folder, pattern in _LIB_GLOBS:
        hits = sorted((site / folder).glob(pattern))
        if hits:
            return hits[0]
    return None


def load_libscip() -> ctypes.CDLL:
    path = find_libscip()
    if path is None:
        raise OSError("libscip not found: install pyscipopt (pip install pyscipopt)")
    lib = ctypes.CDLL(str(path))
    lib.SCIPrunShell.restype = ctypes.c_int
    lib.SCIPrunShell.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.c_char_p]
    return lib


def scip_version(lib: ctypes.CDLL | None = None) -> str:
    """'10.0.2' from the library itself."""
    lib = lib or load_libscip()
    major, minor, tech = (getattr(lib, f)() for f in ("SCIPmajorVersion", "SCIPminorVersion", "SCIPtechVersion"))
    return f"{major}.{minor}.{tech}"


def _flush_c_stdio() -> None:
    # SCIP prints through C stdio, whose buffers are separate from Python's.
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
    libc.fflush(None)


def main(argv: list[str] | None = None) -> int:
    args = ["scip"] + list(sys.argv[1:] if argv is None else argv)
    try:
        lib = load_libscip()
    except OSError as exc:
        print(f"lipgen-scip: {exc}", file=sys.stderr)
        return 127
    c_argv = (ctypes.c_char_p * len(args))(*[a.encode() for a in args])
    sys.stdout.flush()
    sys.stderr.flush()
    rc = lib.SCIPrunShell(len(args), c_argv, b"scip.set")
    if rc != SCIP_OKAY:
        lib.SCIPprintError(rc)  # as SCIP's main() does
    _flush_c_stdio()
    # SCIP's main() returns -1 on error, i.e. exit status 255.
    return 0 if rc == SCIP_OKAY else 255


if __name__ == "__main__":
    sys.exit(main())
