"""A trigger keeps File.attachment_count equal to the number of attachments citing each file,
whichever code (or cascade) adds, moves or removes them; the counts are backfilled here."""

from django.db import migrations

CREATE = """
CREATE FUNCTION submissions_entryfile_count_attachments() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE filesharing_file SET attachment_count = attachment_count + 1 WHERE id = NEW.file_id;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE filesharing_file SET attachment_count = attachment_count - 1 WHERE id = OLD.file_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER submissions_entryfile_count_attachments
AFTER INSERT OR DELETE OR UPDATE OF file_id ON submissions_entryfile
FOR EACH ROW EXECUTE FUNCTION submissions_entryfile_count_attachments();

UPDATE filesharing_file AS f SET attachment_count = cited.n
FROM (SELECT file_id, count(*) AS n FROM submissions_entryfile GROUP BY file_id) AS cited
WHERE f.id = cited.file_id;
"""

DROP = """
DROP TRIGGER IF EXISTS submissions_entryfile_count_attachments ON submissions_entryfile;
DROP FUNCTION IF EXISTS submissions_entryfile_count_attachments();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("submissions", "0001_initial"),
        ("filesharing", "0003_file_is_latest_attachment_count"),
    ]

    operations = [migrations.RunSQL(sql=CREATE, reverse_sql=DROP)]
