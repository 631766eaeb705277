"""The workspace database schema, versioned with SQLite's ``user_version``.

Each entry of :data:`MIGRATIONS` moves the schema one version up: SQL statements, or steps
(SQL, or a Python function given the connection); a workspace made by an older version of the
app is upgraded in one transaction on open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Step = str | Callable[[sqlite3.Connection], None]  # SQL statements, or Python run on the open transaction


def _pack_label_rows(conn: sqlite3.Connection) -> None:
    from kayfabe_core.label_store import pack_label_rows  # numpy and Arrow: only when a workspace needs it

    pack_label_rows(conn)


MIGRATIONS: list[str | tuple[Step, ...]] = [
    # version 1
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE imports (
        import_id   INTEGER PRIMARY KEY,
        imported_at TEXT NOT NULL,
        files       TEXT NOT NULL,      -- JSON list of file names
        report      TEXT NOT NULL       -- JSON of the IngestReport
    );
    CREATE TABLE posts (
        post_url      TEXT PRIMARY KEY,
        media_id      TEXT,
        owner         TEXT,
        full_name     TEXT,
        profile_url   TEXT,
        description   TEXT,
        alt_text      TEXT,
        media_type    TEXT,             -- Photo | Video | Carousel
        n_images      INTEGER NOT NULL DEFAULT 0,
        pub_date      TEXT,             -- ISO-8601 UTC, NULL when unreadable
        like_count    INTEGER,
        comment_count INTEGER,
        view_count    INTEGER,
        location      TEXT,
        query         TEXT,
        scraped_at    TEXT,
        tagged        TEXT,             -- JSON list of tagged usernames
        import_id     INTEGER REFERENCES imports(import_id)
    );
    CREATE INDEX posts_pub_date ON posts(pub_date);
    CREATE TABLE images (
        image_id     INTEGER PRIMARY KEY,
        post_url     TEXT NOT NULL REFERENCES posts(post_url),
        position     INTEGER NOT NULL,  -- 0 = cover / first slide
        image_key    TEXT NOT NULL,     -- the URL's path: stable across re-scrapes
        source_url   TEXT NOT NULL,     -- the signed URL as exported
        url_expiry   TEXT,              -- from the 'oe' parameter, ISO-8601 UTC
        sha256       TEXT,              -- content hash once fetched
        ext          TEXT,
        width        INTEGER,
        height       INTEGER,
        n_bytes      INTEGER,
        fetch_status TEXT NOT NULL DEFAULT 'pending',
        fetch_error  TEXT,
        fetched_at   TEXT,
        UNIQUE (post_url, image_key)
    );
    CREATE INDEX images_sha256 ON images(sha256);
    CREATE TABLE responses (
        sha256        TEXT NOT NULL,
        operation     TEXT NOT NULL,    -- DetectLabels | DetectModerationLabels | RecognizeCelebrities
        model_version TEXT NOT NULL DEFAULT '',
        region        TEXT,
        called_at     TEXT NOT NULL,
        request_id    TEXT,
        request       TEXT,             -- JSON parameters, no image bytes
        response      TEXT,             -- JSON as AWS returned it, NULL on error; new rows hold it compressed
                                        -- (a BLOB): read it with kayfabe_core.response_store.unpacked
        error_code    TEXT,
        error_message TEXT,
        origin        TEXT NOT NULL,    -- rekognition | import | demo
        PRIMARY KEY (sha256, operation, model_version)
    );
    CREATE TABLE labels (
        sha256        TEXT NOT NULL,
        source        TEXT NOT NULL,    -- label | moderation | celebrity
        key           TEXT NOT NULL,    -- label name, or celebrity Id
        name          TEXT NOT NULL,
        confidence    REAL NOT NULL,
        parents       TEXT NOT NULL DEFAULT '',   -- JSON list
        categories    TEXT NOT NULL DEFAULT '',   -- JSON list
        model_version TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (sha256, source, key, model_version)
    );
    CREATE INDEX labels_key ON labels(source, key);
    CREATE TABLE codebooks (
        version     INTEGER PRIMARY KEY,
        category    TEXT NOT NULL,
        yes_name    TEXT NOT NULL,
        no_name     TEXT NOT NULL,
        definition  TEXT NOT NULL,
        created_at  TEXT NOT NULL
    );
    CREATE TABLE codes (
        code_id          INTEGER PRIMARY KEY,
        sha256           TEXT NOT NULL,
        coder            TEXT NOT NULL,
        value            TEXT NOT NULL CHECK (value IN ('YES', 'NO', 'UNSURE')),
        note             TEXT NOT NULL DEFAULT '',
        codebook_version INTEGER REFERENCES codebooks(version),
        coded_at         TEXT NOT NULL
    );
    CREATE INDEX codes_sha256 ON codes(sha256, coder, code_id);
    CREATE TABLE runs (
        run_id     TEXT PRIMARY KEY,
        created_at TEXT NOT NULL,
        backend    TEXT NOT NULL,
        name       TEXT NOT NULL DEFAULT '',
        record     TEXT NOT NULL        -- JSON run record
    );
    CREATE TABLE jobs (
        job_id     TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        state      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        detail     TEXT NOT NULL DEFAULT '{}'
    );
    """,
    # version 2: a free-text note per run (the Runs page)
    """
    ALTER TABLE runs ADD COLUMN note TEXT NOT NULL DEFAULT '';
    """,
    # version 3: label rows keyed by small integers. The long label table held a 64-character hash and
    # the label's texts on each of its millions of rows, in three B-trees; now a row is (content number,
    # label number, confidence) in one B-tree, the texts are stored once per label, and ``labels`` is a
    # view with the old columns for readers. Write through kayfabe_core.labels.store_label_rows.
    """
    CREATE TABLE contents (
        content_no INTEGER PRIMARY KEY,   -- numbered in the order labels first arrive
        sha256     TEXT NOT NULL UNIQUE
    );
    CREATE TABLE label_names (
        label_no      INTEGER PRIMARY KEY,
        source        TEXT NOT NULL,      -- label | moderation | celebrity
        key           TEXT NOT NULL,      -- label name, or celebrity Id
        model_version TEXT NOT NULL DEFAULT '',
        name          TEXT NOT NULL,
        parents       TEXT NOT NULL DEFAULT '',   -- JSON list
        categories    TEXT NOT NULL DEFAULT '',   -- JSON list
        UNIQUE (source, key, model_version)
    );
    CREATE TABLE label_rows (
        content_no INTEGER NOT NULL REFERENCES contents(content_no),
        label_no   INTEGER NOT NULL REFERENCES label_names(label_no),
        confidence REAL NOT NULL,
        PRIMARY KEY (content_no, label_no)
    ) WITHOUT ROWID;
    INSERT INTO contents(sha256) SELECT sha256 FROM labels GROUP BY sha256 ORDER BY MIN(rowid);
    INSERT INTO label_names(source, key, model_version, name, parents, categories)
        SELECT source, key, model_version, name, parents, categories FROM labels
        GROUP BY source, key, model_version ORDER BY MIN(rowid);
    INSERT INTO label_rows
        SELECT c.content_no, n.label_no, l.confidence FROM labels l
        JOIN contents c ON c.sha256 = l.sha256
        JOIN label_names n ON n.source = l.source AND n.key = l.key AND n.model_version = l.model_version
        ORDER BY 1, 2;
    DROP TABLE labels;
    CREATE VIEW labels AS
        SELECT c.sha256 AS sha256, n.source AS source, n.key AS key, n.name AS name,
               r.confidence AS confidence, n.parents AS parents, n.categories AS categories,
               n.model_version AS model_version
        FROM label_rows r JOIN contents c ON c.content_no = r.content_no
        JOIN label_names n ON n.label_no = r.label_no;
    """,
    # version 4: nothing new to store, but a promise kept. The feature inputs kept under cache/inputs/
    # are reused while meta's 'inputs_version' stays put, and only apps that know this version move it on
    # every write of posts, images or labels. Apps from before it would write without moving it and
    # leave stale inputs behind; from this version on they refuse the workspace ("made by a newer
    # version"). The migration itself moves the counter, so inputs kept before it are read again.
    """
    INSERT OR IGNORE INTO meta(key, value) VALUES ('inputs_version', '0');
    """,
    # version 5: label rows packed, one table row per image and write. A million posts have 22.7 million
    # label rows; one B-tree row each cost about a microsecond to write and most of the labels import.
    # Now a pack holds an image's label numbers and confidences as two JSON arrays of equal length, in
    # label number order. The ``label_rows`` view unpacks them with json_each and the ``labels`` view
    # (version 3) reads it by name as before, so readers keep the old columns. The rows are packed by
    # Python (kayfabe_core.label_store.pack_label_rows): each confidence in its shortest exact text,
    # which SQLite cannot print. Write through kayfabe_core.label_store.
    (
        """
        CREATE TABLE label_packs (
            pack_no     INTEGER PRIMARY KEY,
            content_no  INTEGER NOT NULL REFERENCES contents(content_no),
            label_nos   TEXT NOT NULL,      -- JSON array of label_names.label_no, ascending
            confidences TEXT NOT NULL       -- JSON array of the confidences, in the same order
        );
        """,
        _pack_label_rows,
        """
        CREATE INDEX label_packs_content ON label_packs(content_no);
        DROP TABLE label_rows;
        CREATE VIEW label_rows AS
            SELECT p.content_no AS content_no, label.value AS label_no, confidence.value AS confidence
            FROM label_packs p JOIN json_each(p.label_nos) label
            JOIN json_each(p.confidences) confidence ON confidence.key = label.key;
        """,
    ),
    # version 6: nothing new to store, but a promise kept, as in version 4. New responses are stored
    # LZ4-compressed (kayfabe_core.response_store), which apps of version 5 cannot read (they expect zlib):
    # from this version on they refuse the workspace ("made by a newer version") instead of failing on a
    # picture's detail. The rows stored before stay as they are; both read back the same.
    """
    INSERT OR IGNORE INTO meta(key, value) VALUES ('responses', 'zlib or LZ4');
    """,
    # version 7: responses keyed by the image's content number. Each response row held the image's
    # 64-character hash, and its key's B-tree held it again: writing a million posts' 1.6 million responses
    # took the importing process 8.6 s more CPU. Now the hash lives once in ``contents`` (which numbers every image
    # with a stored response, labelled or not), and ``responses`` is a view with the old columns for
    # readers. Write through kayfabe_core.labels (store_response, store_error) or the labels import.
    """
    CREATE TABLE stored_responses (
        response_no   INTEGER PRIMARY KEY,  -- in the order stored
        content_no    INTEGER NOT NULL REFERENCES contents(content_no),
        operation     TEXT NOT NULL,
        model_version TEXT NOT NULL DEFAULT '',
        region        TEXT,
        called_at     TEXT NOT NULL,
        request_id    TEXT,
        request       TEXT,
        response      BLOB,                 -- kayfabe_core.response_store.unpacked reads it; NULL on error
        error_code    TEXT,
        error_message TEXT,
        origin        TEXT NOT NULL,
        UNIQUE (content_no, operation, model_version)
    );
    INSERT INTO contents(sha256) SELECT sha256 FROM responses
        WHERE sha256 NOT IN (SELECT sha256 FROM contents) GROUP BY sha256 ORDER BY MIN(rowid);
    INSERT INTO stored_responses
        SELECT r.rowid, c.content_no, r.operation, r.model_version, r.region, r.called_at, r.request_id,
               r.request, r.response, r.error_code, r.error_message, r.origin
        FROM responses r JOIN contents c ON c.sha256 = r.sha256 ORDER BY r.rowid;
    DROP TABLE responses;
    CREATE VIEW responses AS
        SELECT c.sha256 AS sha256, r.operation AS operation, r.model_version AS model_version,
               r.region AS region, r.called_at AS called_at, r.request_id AS request_id,
               r.request AS request, r.response AS response, r.error_code AS error_code,
               r.error_message AS error_message, r.origin AS origin
        FROM stored_responses r JOIN contents c ON c.content_no = r.content_no;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
