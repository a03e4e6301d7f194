"""PipelineTaskFinalStatus, as in kfp.dsl.task_final_status (2.x)."""

import dataclasses
from typing import Optional


@dataclasses.dataclass
class PipelineTaskFinalStatus:
    """The final status of a pipeline task, given to an exit handler task.

    state is 'SUCCEEDED', 'FAILED' or 'CANCELLED'; error_code and
    error_message are None unless the task failed.
    """
    state: str
    pipeline_job_resource_name: str
    pipeline_task_name: str
    error_code: Optional[int]
    error_message: Optional[str]
