"""One palette for the classifier's two classes, wherever they appear: the rule pages, the rule graph and the
token heatmaps (where red pushes towards the positive class and blue away from it): the heatmaps' red and
blue (ColorBrewer's RdYlBu red), told apart by readers with red-green colour blindness too."""

from __future__ import annotations

__all__ = ["CLASS_COLOURS", "NEG_COLOUR", "OTHER_COLOUR", "POS_COLOUR", "class_colour", "rgb"]

POS_COLOUR = "#d73027"  # red: the positive class, and relevance towards it
NEG_COLOUR = "#3168b5"  # blue: the negative class, and relevance away from the positive one
OTHER_COLOUR = "#7f7f7f"  # a consequent that is neither
CLASS_COLOURS = {"Pos": POS_COLOUR, "Neg": NEG_COLOUR}


def class_colour(name: str) -> str:
    """The colour of a rule's consequent (``Pos``, ``Neg``, or grey for any other)."""
    return CLASS_COLOURS.get(name, OTHER_COLOUR)


def rgb(colour: str) -> tuple[int, int, int]:
    """``#rrggbb`` as three 0–255 ints."""
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)
