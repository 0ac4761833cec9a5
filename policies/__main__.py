"""The faasplane policy pack for the Pulumi CLI: `pulumi preview --policy-pack policies`.

Pulumi runs this file as `__main__` with only this directory on `sys.path`, so the project root is
added first to import `policies.rules` (and the `components` facts it uses). Constructing `PolicyPack`
starts the analyzer's gRPC server and blocks for ever: it happens only when run as `__main__`; importing
this module (`policies.__main__`) only gives `build_policies()`.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi_policy import EnforcementLevel, Policy, PolicyPack  # noqa: E402

from policies import rules  # noqa: E402


def build_policies() -> list[Policy]:
    """The policies the pack registers, in the documented order."""
    return rules.build_policies()


if __name__ == "__main__":
    PolicyPack(rules.PACK_NAME, build_policies(), enforcement_level=EnforcementLevel.MANDATORY)
