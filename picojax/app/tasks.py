"""Registers the built-in tasks with the library's task registry (`picojax.tasks`).

The app layer is the only place that knows which tasks exist: the library asks the
registry by name, and `eval/` implements them. A new task adds one line here.
"""

from eval.pairs.task import TASK as PAIRS
from eval.rpg.task import TASK as RPG
from eval.stories.task import TASK as STORIES
from eval.text.task import TASK as TEXT
from picojax import tasks

# Order matters for detecting a split's task: stories claims any text, so it comes last.
# text claims nothing by content (a dataset's manifest names it).
for _task in (RPG, PAIRS, TEXT, STORIES):
    tasks.register(_task)

BUILT_IN = (RPG.name, PAIRS.name, TEXT.name, STORIES.name)
QUICKSTART = (RPG.name, STORIES.name)  # the tasks with built-in data and a configs/quickstart_<task>.py
