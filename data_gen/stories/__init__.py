"""The stories world: TinyStories importer and a synthetic TinyStories-style generator.

- `importer.import_stories`: real TinyStories files (V1/V2 text, JSON shards, gzip) into a
  dataset folder; `sources.py` reads the formats in constant memory.
- `generator.generate_stories`: offline TinyStories-like stories from a ~1,500-word
  controlled vocabulary (`vocab.tsv`, loaded by `vocab.py`).
- `framing.py`: the output format (V2 text) and its reader; `stats.py`: manifest figures
  and the word tokeniser shared with the stories eval; `output.py`: all-or-nothing writing.

Pure Python: nothing here imports JAX.
"""

from data_gen.stories.errors import StoriesError

__all__ = ["StoriesError"]
