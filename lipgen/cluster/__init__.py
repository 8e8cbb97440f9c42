"""Offline solving on a cluster: array jobs for SLURM, PBS and LSF rendered from `templates/jobs/`, their task
lists, shell quoting, and solver settings files rendered from `templates/settings/`."""

from lipgen.cluster.jobs import Job, JobRequest, make_job, submit_job
from lipgen.instance.settings import write_settings_files

__all__ = ["Job", "JobRequest", "make_job", "submit_job", "write_settings_files"]
