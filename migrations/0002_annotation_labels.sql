-- SPDX-License-Identifier: MIT
-- Label inventory of each labeling session, kept up to date by the document
-- inserts (same transaction), so listing sessions does not rescan documents.
-- kind: class | label | category (ABSA aspect category) | polarity.
CREATE TABLE annotation_labels (
    annotation_id INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('class', 'label', 'category', 'polarity')),
    name          TEXT NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (annotation_id, kind, name)
);

-- Backfill from documents stored before this migration (SQLite JSON1; a
-- PostgreSQL variant would use jsonb_array_elements).
INSERT INTO annotation_labels (annotation_id, kind, name, count)
SELECT annotation_id, 'class', class, COUNT(*) FROM documents
WHERE class IS NOT NULL GROUP BY annotation_id, class;

INSERT INTO annotation_labels (annotation_id, kind, name, count)
SELECT d.annotation_id, 'label', j.value, COUNT(*) FROM documents d, json_each(d.labels) j
WHERE d.labels IS NOT NULL GROUP BY d.annotation_id, j.value;

INSERT INTO annotation_labels (annotation_id, kind, name, count)
SELECT d.annotation_id, 'category', json_extract(j.value, '$.category'), COUNT(*)
FROM documents d, json_each(d.aspects) j
WHERE d.aspects IS NOT NULL GROUP BY d.annotation_id, json_extract(j.value, '$.category');

INSERT INTO annotation_labels (annotation_id, kind, name, count)
SELECT d.annotation_id, 'polarity', json_extract(j.value, '$.polarity'), COUNT(*)
FROM documents d, json_each(d.aspects) j
WHERE d.aspects IS NOT NULL GROUP BY d.annotation_id, json_extract(j.value, '$.polarity');
