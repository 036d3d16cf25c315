"""The seqvault command-line client and its Python API (no Django inside).

from seqvault_client import Client

client = Client.from_config()            # or Client(url, token)
[result] = client.upload(["run1.fastq.gz"], group="My Lab")
print(result.name, result.file_id, result.status)
client.download(result.file_id, "downloads/")
"""

from seqvault_client.client import Client
from seqvault_client.download import DownloadResult
from seqvault_client.errors import ApiError, ChecksumMismatch, SeqvaultError, TransferError
from seqvault_client.upload import UploadResult

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "ChecksumMismatch",
    "Client",
    "DownloadResult",
    "SeqvaultError",
    "TransferError",
    "UploadResult",
    "__version__",
]
