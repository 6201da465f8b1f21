"""The study as a workflow: params and their schema, the study grid, each job's slice and
identity, the CLI, DVC stages, versioning and releases, lineage and MLflow tracking."""
