from __future__ import annotations

from rest_framework import serializers

from filesharing.models import File


class FileOutputSerializer(serializers.Serializer):
    fileId = serializers.UUIDField(source="id")
    groupId = serializers.IntegerField(source="group_id")
    groupName = serializers.CharField(source="group.name")
    name = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=File.Status.choices)
    failureReason = serializers.CharField(source="failure_reason")
    contentType = serializers.CharField(source="content_type")
    declaredSize = serializers.IntegerField(source="declared_size", allow_null=True)
    declaredSha256 = serializers.CharField(source="declared_sha256")
    size = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField()
    declaredMd5 = serializers.CharField(source="declared_md5")
    md5 = serializers.CharField(help_text="MD5 of the verified bytes (hex), beside sha256.")
    uploader = serializers.CharField(source="uploader.username", default=None)
    uploadRequestedAt = serializers.DateTimeField(source="upload_requested_at")
    uploadDeadline = serializers.DateTimeField(source="upload_deadline")
    verifiedAt = serializers.DateTimeField(source="verified_at", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at", allow_null=True)
    releasedAt = serializers.DateTimeField(source="released_at", allow_null=True)
    deletedAt = serializers.DateTimeField(source="deleted_at", allow_null=True)


class PresignedRequestSerializer(serializers.Serializer):
    url = serializers.URLField()
    method = serializers.CharField()
    headers = serializers.DictField(child=serializers.CharField())
    expiresAt = serializers.DateTimeField(source="expires_at")
