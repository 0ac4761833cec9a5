"""The error every user-input problem raises, so entry points can print it instead of a traceback."""


class UserError(Exception):
    """Bad input from the user (stack config, a function declaration, a stack.yml): the message says
    which file, function or key is at fault and what was expected."""
