"""The one exception type that carries a user-facing, one-line message."""


class ParamartError(Exception):
    """Bad input or environment: the CLI prints the message alone and exits with code 2."""


class WriteError(ParamartError):
    """An output could not be written (a full disk, a read-only folder): nothing half-written is left."""
