"""Ingestion channels: the drop folder (`ingest.dropfolder`, `ingest.watch`) and the mailbox
(`ingest.imap`, `ingest.mailbox`), both feeding documents through `ingest.documents`, which
claims each document in the database before it is processed (one worker per document)."""
