-- SPDX-License-Identifier: MIT
-- Training warnings of a model (JSON array of {code, message, labels?, count?},
-- written with the score when the model becomes READY). NULL: none recorded
-- (models that are not READY yet, or were trained before this migration).
ALTER TABLE models ADD COLUMN warnings TEXT;
