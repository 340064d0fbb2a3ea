-- SPDX-License-Identifier: MIT
-- Training warnings of a model (PostgreSQL edition of
-- migrations/0003_model_warnings.sql): a JSON array of {code, message,
-- labels?, count?} as text, written with the score when the model becomes
-- READY. NULL: none recorded (models that are not READY yet).
ALTER TABLE models ADD COLUMN warnings TEXT COLLATE "C";
