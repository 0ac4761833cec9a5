"""The error every user-input problem raises, so entry points can print it instead of a traceback."""

import pulumi


class UserError(pulumi.RunError):
    """Bad input from the user (stack config, a function declaration, a stack.yml): the message says
    which file, function or key is at fault and what was expected.

    A `pulumi.RunError`: under the Pulumi CLI the program stops with this message alone, not a traceback."""
