"""The one base class of failures a user can act on (bad input, bad configuration, a missing
package or file): the CLI prints their message as one line and exits with status 2."""


class UserError(Exception):
    """A failure caused by the user's input or environment; the message says what to do."""


class PoolTooSmallError(UserError, RuntimeError):
    """A pool, or a labelled split, holds fewer examples than a scale asks for."""
