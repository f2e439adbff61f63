"""Build the one C extension, pulsetrace._core, from the files in src/pulsetrace/_core/."""

import glob

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "pulsetrace._core",
            sources=sorted(glob.glob("src/pulsetrace/_core/*.c")),
            depends=sorted(glob.glob("src/pulsetrace/_core/*.h")),
            extra_compile_args=["-O2", "-std=gnu11", "-Wall", "-Wno-missing-field-initializers"],
        )
    ]
)
