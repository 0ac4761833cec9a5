"""The engine benchmark's program: the platform of the stack's config plus N functions with prebuilt images.

N is the config value `bench:functions`; the images are stable fake digests (nothing is built or pulled).
"""

import hashlib

import pulumi

from faasplane.components.config import load_config
from faasplane.components.function import Function, FunctionArgs, Scale
from faasplane.components.platform import Platform

count = pulumi.Config("bench").require_int("functions")
platform = Platform("faasplane", load_config())
for index in range(count):
    digest = hashlib.sha256(str(index).encode()).hexdigest()
    Function(f"fn-{index:03d}", FunctionArgs(image_ref=f"registry.example.com/fn-{index:03d}@sha256:{digest}",
                                             scale=Scale(min=1, max=5)), platform)
