/* SPDX-License-Identifier: MIT */
/*
 * domain: the typed vocabulary of modeld. Model status, model type (which is
 * also the annotation type of a labeling session, BASE excepted), language and
 * project role are enums everywhere inside the daemon; their names exist only
 * at the edges (JSON, SQL, the command line), converted here. The status rules
 * live here too: which statuses have a trained model behind them, which
 * changes a user may make, when a training is over.
 *
 * Thread-safety: everything is immutable.
 */
#ifndef MODELD_DOMAIN_H
#define MODELD_DOMAIN_H

enum model_status {
    STATUS_CREATED,
    STATUS_QUEUED,
    STATUS_TRAINING,
    STATUS_FAILED,
    STATUS_READY,
    STATUS_ACTIVE,
    STATUS_PUBLISHED,
    STATUS_COUNT
};

enum model_type { TYPE_BASE, TYPE_ABSA, TYPE_CLASS, TYPE_LABEL, TYPE_CLASSLABEL, TYPE_COUNT };

enum language { LANG_EN, LANG_DE, LANG_AR, LANG_COUNT };

/* Project roles, ordered: a higher one may do everything a lower one may. */
enum role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_ANNOTATOR, ROLE_MANAGER, ROLE_OWNER, ROLE_COUNT };

/* NULL-terminated name lists, in enum order (for validation messages and
 * loops). Annotation types are the model types without BASE. */
extern const char *const domain_status_names[];       /* CREATED ... PUBLISHED */
extern const char *const domain_type_names[];         /* BASE ABSA CLASS LABEL CLASSLABEL */
extern const char *const domain_annotation_type_names[]; /* ABSA CLASS LABEL CLASSLABEL */
extern const char *const domain_language_names[];     /* en de ar */
extern const char *const domain_role_names[];         /* VIEWER ANNOTATOR MANAGER OWNER */

/* The name of a value (never NULL; "?" for an out-of-range one). */
const char *domain_status_name(enum model_status s);
const char *domain_type_name(enum model_type t);
const char *domain_language_name(enum language l);
const char *domain_role_name(enum role r); /* "NONE" for ROLE_NONE */

/* Parse an exact name: 0 and *out, or -1 for anything else (out untouched). */
int domain_status_parse(const char *name, enum model_status *out);
int domain_type_parse(const char *name, enum model_type *out);
int domain_language_parse(const char *name, enum language *out);
int domain_role_parse(const char *name, enum role *out); /* VIEWER ... OWNER */

/* READY, ACTIVE or PUBLISHED: a trained model is behind it. */
int domain_status_trained(enum model_status s);
/* FAILED or trained: no training will change it any more. */
int domain_status_final(enum model_status s);
/* CREATED, QUEUED or TRAINING: it can still be canceled. */
int domain_status_cancelable(enum model_status s);
/* A change a user may make with PATCH: READY -> ACTIVE -> PUBLISHED -> READY,
 * ACTIVE -> READY, and a trained status to itself. */
int domain_status_patch_ok(enum model_status from, enum model_status to);

#endif
