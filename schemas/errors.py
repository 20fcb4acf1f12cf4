"""The root of every tradewatch exception; each package derives its own from it."""


class TradewatchError(Exception):
    """Base class of all errors raised by tradewatch on purpose."""
