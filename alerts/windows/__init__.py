"""Event-time windows over declarations: observations, per-key state, and the window rules' core.

Everything here is pure and deterministic: time comes only from the declarations' `declared_at`,
never from the wall clock, so a replay of last year's feed gives the alerts it gave live.
"""
