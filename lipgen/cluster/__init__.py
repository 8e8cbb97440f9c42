"""Offline solving on a cluster: array jobs for SLURM, PBS and LSF rendered from `templates/jobs/`, their task
lists and schedulers. (Solver settings files are written with the instances: lipgen.instance.settings.)"""

from lipgen.cluster.jobs import Job, JobRequest, make_job, submit_job

__all__ = ["Job", "JobRequest", "make_job", "submit_job"]
