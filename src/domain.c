/* SPDX-License-Identifier: MIT */
/* domain: names and rules of statuses, types, languages and roles (see domain.h). */
#include "domain.h"

#include <string.h>

#include "banned.h" /* last: bans unsafe libc calls */

const char *const domain_status_names[] = {"CREATED", "QUEUED", "TRAINING",  "FAILED",
                                           "READY",   "ACTIVE", "PUBLISHED", NULL};
const char *const domain_type_names[] = {"BASE", "ABSA", "CLASS", "LABEL", "CLASSLABEL", NULL};
const char *const domain_annotation_type_names[] = {"ABSA", "CLASS", "LABEL", "CLASSLABEL", NULL};
const char *const domain_language_names[] = {"en", "de", "ar", NULL};
static const char *const role_names[] = {"NONE", "VIEWER", "ANNOTATOR", "MANAGER", "OWNER", NULL};
const char *const domain_role_names[] = {"VIEWER", "ANNOTATOR", "MANAGER", "OWNER", NULL};

_Static_assert(sizeof(domain_status_names) / sizeof(*domain_status_names) == STATUS_COUNT + 1,
               "a name for every status");
_Static_assert(sizeof(domain_type_names) / sizeof(*domain_type_names) == TYPE_COUNT + 1,
               "a name for every type");
_Static_assert(sizeof(domain_language_names) / sizeof(*domain_language_names) == LANG_COUNT + 1,
               "a name for every language");
_Static_assert(sizeof(role_names) / sizeof(*role_names) == ROLE_COUNT + 1, "a name for every role");

static const char *name_of(const char *const *names, int count, int v)
{
    return v >= 0 && v < count ? names[v] : "?";
}

/* Index of name in names[first..count), or -1. */
static int index_of(const char *const *names, int first, int count, const char *name)
{
    for (int i = first; name && i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *domain_status_name(enum model_status s)
{
    return name_of(domain_status_names, STATUS_COUNT, (int)s);
}

const char *domain_type_name(enum model_type t)
{
    return name_of(domain_type_names, TYPE_COUNT, (int)t);
}

const char *domain_language_name(enum language l)
{
    return name_of(domain_language_names, LANG_COUNT, (int)l);
}

const char *domain_role_name(enum role r)
{
    return name_of(role_names, ROLE_COUNT, (int)r);
}

int domain_status_parse(const char *name, enum model_status *out)
{
    int i = index_of(domain_status_names, 0, STATUS_COUNT, name);

    if (i < 0)
        return -1;
    *out = (enum model_status)i;
    return 0;
}

int domain_type_parse(const char *name, enum model_type *out)
{
    int i = index_of(domain_type_names, 0, TYPE_COUNT, name);

    if (i < 0)
        return -1;
    *out = (enum model_type)i;
    return 0;
}

int domain_language_parse(const char *name, enum language *out)
{
    int i = index_of(domain_language_names, 0, LANG_COUNT, name);

    if (i < 0)
        return -1;
    *out = (enum language)i;
    return 0;
}

int domain_role_parse(const char *name, enum role *out)
{
    int i = index_of(role_names, ROLE_VIEWER, ROLE_COUNT, name);

    if (i < 0)
        return -1;
    *out = (enum role)i;
    return 0;
}

int domain_status_trained(enum model_status s)
{
    return s == STATUS_READY || s == STATUS_ACTIVE || s == STATUS_PUBLISHED;
}

int domain_status_final(enum model_status s)
{
    return s == STATUS_FAILED || domain_status_trained(s);
}

int domain_status_cancelable(enum model_status s)
{
    return s == STATUS_CREATED || s == STATUS_QUEUED || s == STATUS_TRAINING;
}

int domain_status_patch_ok(enum model_status from, enum model_status to)
{
    if (from == to)
        return domain_status_trained(from);
    return (from == STATUS_READY && to == STATUS_ACTIVE) ||
           (from == STATUS_ACTIVE && (to == STATUS_PUBLISHED || to == STATUS_READY)) ||
           (from == STATUS_PUBLISHED && to == STATUS_READY);
}
