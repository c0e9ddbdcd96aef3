"""`tusk.Range`: a PostgreSQL range value (int4range, int8range, numrange,
daterange, tsrange, tstzrange), read from and sent to the server."""

from __future__ import annotations

from typing import Any, Generic, Optional, TypeVar

T = TypeVar("T")

_BOUNDS = ("[)", "(]", "()", "[]")


class Range(Generic[T]):
    """A range: `lower` and `upper` bounds (None for an infinite one),
    `bounds` one of ``"[)"``, ``"(]"``, ``"()"``, ``"[]"`` (inclusive with a
    bracket), or ``Range(empty=True)``. Discrete ranges come back from the
    server in canonical ``[)`` form, as the server prints them."""

    __slots__ = ("_lower", "_upper", "_bounds", "_empty")

    def __init__(
        self,
        lower: Optional[T] = None,
        upper: Optional[T] = None,
        bounds: str = "[)",
        empty: bool = False,
    ) -> None:
        if bounds not in _BOUNDS:
            raise ValueError(f"bounds must be one of {', '.join(_BOUNDS)}, not {bounds!r}")
        if empty:
            lower = upper = None
            bounds = "()"
        else:
            # An infinite bound is never inclusive (the server's rule).
            if lower is None:
                bounds = "(" + bounds[1]
            if upper is None:
                bounds = bounds[0] + ")"
        self._lower = lower
        self._upper = upper
        self._bounds = bounds
        self._empty = empty

    @property
    def lower(self) -> Optional[T]:
        """The lower bound, None when it is infinite (or the range empty)."""
        return self._lower

    @property
    def upper(self) -> Optional[T]:
        """The upper bound, None when it is infinite (or the range empty)."""
        return self._upper

    @property
    def bounds(self) -> str:
        """``"[)"``, ``"(]"``, ``"()"`` or ``"[]"``."""
        return self._bounds

    @property
    def isempty(self) -> bool:
        """True for the empty range."""
        return self._empty

    @property
    def lower_inc(self) -> bool:
        """True when the lower bound is in the range."""
        return not self._empty and self._bounds[0] == "["

    @property
    def upper_inc(self) -> bool:
        """True when the upper bound is in the range."""
        return not self._empty and self._bounds[1] == "]"

    @property
    def lower_inf(self) -> bool:
        """True when the range has no lower bound."""
        return not self._empty and self._lower is None

    @property
    def upper_inf(self) -> bool:
        """True when the range has no upper bound."""
        return not self._empty and self._upper is None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Range):
            return NotImplemented
        return (self._lower, self._upper, self._bounds, self._empty) == (
            other._lower,
            other._upper,
            other._bounds,
            other._empty,
        )

    def __hash__(self) -> int:
        return hash((self._lower, self._upper, self._bounds, self._empty))

    def __bool__(self) -> bool:
        return not self._empty

    def __repr__(self) -> str:
        if self._empty:
            return "Range(empty=True)"
        return f"Range({self._lower!r}, {self._upper!r}, {self._bounds!r})"

    def _literal(self) -> str:
        """The server's input form (`[1,5)`, `empty`), bounds quoted."""
        if self._empty:
            return "empty"
        return f"{self._bounds[0]}{_bound(self._lower)},{_bound(self._upper)}{self._bounds[1]}"


def _bound(v: Any) -> str:
    if v is None:
        return ""
    text = str(v)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
