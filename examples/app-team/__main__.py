"""An application team's functions on a faasplane platform stack it does not own.

The platform is read through a StackReference (`platformStack`, default `organization/faasplane/dev`, the
name a self-managed backend gives it): its functions namespace, registry and edition. A function is built
from its handler directory (the build context goes under this project's build/), or deployed from a
prebuilt image when `echoImage` is set. `maxReplicas` bounds its scaling (the platform's edition limits it);
`env` (an object) sets its environment.
"""

import pulumi

from faasplane.components.function import Function, FunctionArgs, PlatformRef, Scale

config = pulumi.Config()
platform = PlatformRef.from_stack_reference(config.get("platformStack") or "organization/faasplane/dev")
scale = Scale(min=1, max=config.get_int("maxReplicas") or 3)
env = config.get_object("env") or {}
prebuilt = config.get("echoImage")
args = FunctionArgs(image_ref=prebuilt, scale=scale, env=env) if prebuilt else \
    FunctionArgs(handler="echo", lang="python3-http", scale=scale, env=env)
echo = Function("echo", args, platform)

pulumi.export("echoImage", echo.image_ref)
