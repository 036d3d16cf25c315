"""The Python API pipelines use: `from seqvault_client import Client`."""

from __future__ import annotations

from pathlib import Path

import pytest
from seqvault_client import ApiError, Client, SeqvaultError
from seqvault_client.upload import UploadOptions

from filesharing.models import File
from tests.client.conftest import MIB, Cli, write_random
from tests.conftest import sha256_hex

pytestmark = pytest.mark.django_db(transaction=True)


def test_upload_and_download_from_python(cli: Cli, tmp_path: Path) -> None:
    data = write_random(tmp_path / "reads.bam", 11 * MIB)
    options = UploadOptions(part_size=5 * MIB, multipart_threshold=8 * MIB, jobs=4)
    with Client(cli.url, cli.token, config_directory=tmp_path / "config") as client:
        [result] = client.upload([tmp_path / "reads.bam"], group=cli.group, options=options)
        check_round_trip(client, result.file_id, data, tmp_path)

    assert (result.status, result.sha256, result.size) == ("verified", sha256_hex(data), len(data))
    assert result.parts_sent == [1, 2, 3]
    assert File.objects.get(pk=result.file_id).status == "verified"


def check_round_trip(client: Client, file_id: str, data: bytes, tmp_path: Path) -> None:
    [listed] = client.files(group=client.group_id(client.groups()[0]["name"]))
    assert listed["fileId"] == file_id
    downloaded = client.download(file_id, tmp_path / "out")
    assert Path(downloaded.path).read_bytes() == data
    assert client.file(file_id)["sha256"] == sha256_hex(data)


def test_server_refusals_are_api_errors_with_codes(cli: Cli, tmp_path: Path) -> None:
    with Client(cli.url, cli.token) as client:
        with pytest.raises(ApiError) as refused:
            client.file("00000000-0000-0000-0000-000000000000")
        assert (refused.value.status, refused.value.code) == (404, "file_not_found")
        with pytest.raises(SeqvaultError, match="No group named"):
            client.group_id("Nobody's Lab")
        group_id = client.group_id(cli.group)
        assert client.group_id(str(group_id)) == group_id
