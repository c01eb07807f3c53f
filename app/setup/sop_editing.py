"""Editing the steps of an SOP without rewriting history.

Every change goes through `Sop.editable_version()`: a version some record was made with never
changes, so the edit may land on a fresh copy. Steps are therefore found by position, which
the copy keeps, never by the id the admin's page showed.
"""
from operator import attrgetter

from ..models import Sop, SopVersion, Step


def step_at(version: SopVersion, position: int) -> Step:
    return next(step for step in version.steps if step.position == position)


def renumber(version: SopVersion) -> None:
    """Positions 1..n in the current order, without gaps."""
    for position, step in enumerate(sorted(version.steps, key=attrgetter("position")), start=1):
        step.position = position


def add_step(sop: Sop, values: dict) -> Step:
    version = sop.editable_version()
    last = max((step.position for step in version.steps), default=0)
    step = Step(position=last + 1, **values)
    version.steps.append(step)
    return step


def change_step(sop: Sop, position: int, values: dict) -> dict:
    """Apply the values to the step at that position; the changes, empty when nothing changed."""
    current = step_at(sop.current, position)
    changed = {name: [getattr(current, name), value] for name, value in values.items()
               if getattr(current, name) != value}
    if changed:
        step = step_at(sop.editable_version(), position)
        for name, (_, value) in changed.items():
            setattr(step, name, value)
    return changed


def move_step(sop: Sop, position: int, delta: int) -> bool:
    """Swap the step with its neighbour; False when it is already first or last."""
    other = position + delta
    if not 1 <= other <= len(sop.current.steps):
        return False
    version = sop.editable_version()
    step, neighbour = step_at(version, position), step_at(version, other)
    step.position, neighbour.position = other, position
    return True


def remove_step(sop: Sop, position: int) -> None:
    version = sop.editable_version()
    version.steps.remove(step_at(version, position))
    renumber(version)
