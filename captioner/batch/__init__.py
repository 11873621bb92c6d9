"""Captioning a campaign: many inputs, one house style, resumable, one report.

- :mod:`.schema`: the batch's data (jobs, clip results, records) as dataclasses;
- :mod:`.plan`: inputs (a folder or a CSV manifest) and where each clip's outputs go;
- :mod:`.records`: fingerprints, records and event logs in ``OUT/.captioner``;
- :mod:`.runner`: a worker running jobs, each model loaded once;
- :mod:`.local_engine`, :mod:`.ray_engine`: where the workers run;
- :mod:`.report`: ``report.json``, ``report.csv``, ``report.html``; :mod:`.run`: :func:`run_batch`.
"""

from .local_engine import LocalEngine
from .ray_engine import RayEngine
from .run import make_engine, run_batch
from .schema import BatchResult, ClipResult, Job

__all__ = ["BatchResult", "ClipResult", "Job", "LocalEngine", "RayEngine", "make_engine", "run_batch"]
