"""Named declarations that apps register with a lower layer (event types, audit actions).

Each app declares its own entries in a module of its own, imported by its AppConfig's
ready(), so the lower layer knows every name without knowing the apps. Looking up a
name that nobody declared raises: a misspelt event type or audit action fails where it
is written, in the test that runs it, instead of being stored and heard by nobody.
"""

from __future__ import annotations

from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    name: str


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    def __init__(self, what: str, unknown: type[LookupError]):
        self.what = what
        self.unknown = unknown
        self._entries: dict[str, T] = {}

    def add(self, entry: T) -> T:
        known = self._entries.get(entry.name)
        if known is not None and known != entry:
            raise ValueError(f"The {self.what} {entry.name!r} is declared twice, differently.")
        self._entries[entry.name] = entry
        return entry

    def get(self, name: str | T) -> T:
        key = name if isinstance(name, str) else name.name
        try:
            return self._entries[key]
        except KeyError:
            raise self.unknown(f"Unknown {self.what} {key!r}: declare it first.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def all(self) -> list[T]:
        return [self._entries[name] for name in sorted(self._entries)]
