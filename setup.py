"""Build the one C extension, pulsetrace._core, from the files in src/pulsetrace/_core/.

Where it cannot be built (no C compiler, no Python headers), the install still succeeds: pulsetrace
then records with its pure-Python core, which gives the same traces at a much higher cost, and says
so at the end of every `pulsetrace run`. The build prints why, and what to install.
"""

import glob
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

WHAT_TO_INSTALL = (
    "install a C compiler and the Python headers (Debian/Ubuntu: apt install gcc python3-dev; "
    "Fedora: dnf install gcc python3-devel; macOS: xcode-select --install), then reinstall pulsetrace"
)


class OptionalBuildExt(build_ext):
    """build_ext that turns a failed compile into a clear warning instead of a failed install."""

    failed = False

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler at all, or (--inplace) no built file to copy
            self._warn(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # the compiler ran and failed (missing headers, ...)
            self._warn(exc)

    def _warn(self, exc: BaseException) -> None:
        if self.failed:  # said once: later steps only fail for the same reason
            return
        self.failed = True
        sys.stderr.write(
            "\n"
            f"WARNING: pulsetrace could not build its C extension ({type(exc).__name__}: {exc}).\n"
            "pulsetrace is installed with its pure-Python core: traces are the same, but the traced\n"
            f"program runs much slower. To get the C core, {WHAT_TO_INSTALL}.\n\n"
        )


setup(
    cmdclass={"build_ext": OptionalBuildExt},
    ext_modules=[
        Extension(
            "pulsetrace._core",
            sources=sorted(glob.glob("src/pulsetrace/_core/*.c")),
            depends=sorted(glob.glob("src/pulsetrace/_core/*.h")),
            extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wno-missing-field-initializers"],
        )
    ],
)
