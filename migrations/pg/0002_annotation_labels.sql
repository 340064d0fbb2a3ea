-- SPDX-License-Identifier: MIT
-- Label inventory of each labeling session (PostgreSQL edition of
-- migrations/0002_annotation_labels.sql), kept up to date by the document
-- inserts (same transaction), so listing sessions does not rescan documents.
-- kind: class | label | category (ABSA aspect category) | polarity.
CREATE TABLE annotation_labels (
    annotation_id BIGINT NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,
    kind          TEXT COLLATE "C" NOT NULL CHECK (kind IN ('class', 'label', 'category', 'polarity')),
    name          TEXT COLLATE "C" NOT NULL,
    count         BIGINT NOT NULL,
    PRIMARY KEY (annotation_id, kind, name)
);

-- Backfill from documents stored before this migration (labels and aspects
-- are JSON arrays as text). On a new database there are none; the statements
-- are kept so both editions of the migration do the same thing.
INSERT INTO annotation_labels (annotation_id, kind, name, count)
SELECT annotation_id, 'class', class, COUNT(*) FROM documents
WHERE class IS NOT NULL GROUP BY annotation_id, class;

INSERT INTO annotation_labels (annotation_id, kind, name, count)
SELECT d.annotation_id, 'label', j.value, COUNT(*)
FROM documents d, jsonb_array_elements_text(d.labels::jsonb) AS j(value)
WHERE d.labels IS NOT NULL GROUP BY d.annotation_id, j.value;

INSERT INTO annotation_labels (annotation_id, kind, name, count)
SELECT d.annotation_id, 'category', j.value ->> 'category', COUNT(*)
FROM documents d, jsonb_array_elements(d.aspects::jsonb) AS j(value)
WHERE d.aspects IS NOT NULL GROUP BY d.annotation_id, j.value ->> 'category';

INSERT INTO annotation_labels (annotation_id, kind, name, count)
SELECT d.annotation_id, 'polarity', j.value ->> 'polarity', COUNT(*)
FROM documents d, jsonb_array_elements(d.aspects::jsonb) AS j(value)
WHERE d.aspects IS NOT NULL GROUP BY d.annotation_id, j.value ->> 'polarity';
