"""Errors the core raises. Every message names the file or value at fault and the problem."""


class Ls4Error(Exception):
    """Base class: something a user can act on, with a message in plain words."""


class InputError(Ls4Error):
    """The input (a file, a name, a parameter) is not usable; the message says which and why."""


class Canceled(Ls4Error):
    """The user canceled; partial outputs have been removed."""

    def __init__(self, message: str = "Canceled by the user") -> None:
        super().__init__(message)


class ServiceUnavailable(Ls4Error):
    """A service gave no answer: it cannot be reached, did not answer within its time-out, or
    dropped the connection. ``service`` names it ("S3", "PostgreSQL"); a run that meets this
    error stops starting new work against that service."""

    def __init__(self, service: str, message: str) -> None:
        super().__init__(message)
        self.service = service
