"""Every write to sequence entries goes through these functions."""

from submissions.services.orphans import (
    orphaned_files_csv,
    orphaned_files_report,
    orphaned_files_report_mail_all,
)
from submissions.services.pipeline import (
    Claim,
    ProcessedResult,
    entries_claim_for_processing,
    entries_record_processed,
    entries_reset_stale_processing,
)
from submissions.services.pipeline_versions import (
    pipeline_version_bump,
    pipeline_version_current,
    pipeline_version_use_newer_if_possible,
)
from submissions.services.release import (
    entries_approve,
    entries_revoke,
    processed_data_file_ids_to_publish,
    processed_data_publish,
    public_tags_reconcile,
)
from submissions.services.submit import entries_revise, entries_submit

__all__ = [
    "Claim",
    "ProcessedResult",
    "entries_approve",
    "entries_claim_for_processing",
    "entries_record_processed",
    "entries_reset_stale_processing",
    "entries_revise",
    "entries_revoke",
    "entries_submit",
    "orphaned_files_csv",
    "orphaned_files_report",
    "orphaned_files_report_mail_all",
    "pipeline_version_bump",
    "pipeline_version_current",
    "pipeline_version_use_newer_if_possible",
    "processed_data_file_ids_to_publish",
    "processed_data_publish",
    "public_tags_reconcile",
]
