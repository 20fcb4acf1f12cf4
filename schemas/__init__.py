"""Wire contracts of tradewatch: the declarations it reads and the alerts it writes."""

from schemas.alert import Alert, AlertCategory, Severity, Subject, Window
from schemas.declaration import Declaration, Party

__all__ = ["Alert", "AlertCategory", "Declaration", "Party", "Severity", "Subject", "Window"]
