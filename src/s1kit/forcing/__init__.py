"""Budget forcing (section 3.1 of the paper): budgets, reasoning formats and the forcing state machine.

Pure Python and engine-free; read this package first. A :class:`Budget` says how long a model may and must
think; a :class:`ReasoningFormat` says how thinking is delimited; a :class:`ForcingState` decides, token by
token (or round by round over HTTP), what is forced: the end of thinking at the cap, "Wait" in place of an
early stop.
"""

from s1kit.forcing.budget import Budget
from s1kit.forcing.formats import FORMATS, FormatIds, ReasoningFormat, get_format
from s1kit.forcing.state import ForcingEvent, ForcingPlan, ForcingState, Role

__all__ = [
    "FORMATS",
    "Budget",
    "ForcingEvent",
    "ForcingPlan",
    "ForcingState",
    "FormatIds",
    "ReasoningFormat",
    "Role",
    "get_format",
]
