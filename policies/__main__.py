"""The faasplane policy pack for the Pulumi CLI: `pulumi preview --policy-pack policies`.

The CLI runs this file as `__main__` in the project's virtualenv (PulumiPolicy.yaml: toolchain uv), where the
`faasplane` package is installed. Constructing `PolicyPack` starts the analyzer's gRPC server and blocks for
ever: it happens only when run as `__main__`; importing this module only gives `build_policies()`.
"""

from pulumi_policy import EnforcementLevel, Policy, PolicyPack

from faasplane.policies import rules


def build_policies() -> list[Policy]:
    """The policies the pack registers, in the documented order."""
    return rules.build_policies()


if __name__ == "__main__":
    PolicyPack(rules.PACK_NAME, build_policies(), enforcement_level=EnforcementLevel.MANDATORY)
