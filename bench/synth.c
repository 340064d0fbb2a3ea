/* SPDX-License-Identifier: MIT */
/*
 * synth: generator of the synthetic benchmark sets (contract in synth.h).
 *
 * ABSA sets: a category is ENTITY#ATTRIBUTE. A clause about an aspect names
 * the entity with one of its nouns, the attribute with one of its phrases
 * (GENERAL may have none) and the polarity with a sentiment word (positive
 * sometimes as a negated negative word and vice versa; conflict as "good but
 * bad"); in half the clauses the category's own cue word (a made-up product
 * line name, unique per category) stands before the noun. A linear model can
 * learn the entity and the attribute, but a sentence with two aspects also
 * holds the crossed pairs, the negations flip the sentiment words, and the
 * rare categories have too few documents: partly learnable, like real data.
 * Category frequencies follow a Zipf law over a seeded random order of the
 * categories; the last six of that order are planted instead: four in 1-2
 * training documents (and one test document each) and two only in the test
 * split. Documents without an aspect hold filler and sometimes an entity
 * mentioned without an opinion.
 *
 * All randomness comes from splitmix64 streams seeded by constants (one for
 * the aspects of a set, one per document for its text), so a set is the same
 * bytes everywhere.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "synth.h"

#include "banned.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_WORDS 8 /* words per list entry (NULL-terminated arrays are shorter) */
#define MAX_ASPECTS 4
#define N_RARE 4
#define N_TEST_ONLY 2

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n), n > 0. */
static size_t rng_below(struct rng *r, size_t n)
{
    return (size_t)(rng_next(r) % n);
}

/* Uniform in [0, 1). */
static double rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* A NULL-terminated word list's length. */
static size_t words_len(const char *const *w)
{
    size_t n = 0;
    while (n < MAX_WORDS && w[n])
        n++;
    return n;
}

/* The length of a NULL-terminated list of any length. */
static size_t list_len(const char *const *w)
{
    size_t n = 0;
    while (w[n])
        n++;
    return n;
}

static const char *pick(struct rng *r, const char *const *w)
{
    return w[rng_below(r, words_len(w))];
}

/* ---- word lists --------------------------------------------------------- */

struct entity {
    const char *name;
    const char *nouns[MAX_WORDS]; /* noun phrases without article */
};

struct attribute {
    const char *name;
    const char *phrases[MAX_WORDS]; /* "" = no attribute phrase */
};

/* One language of the ABSA generator. Templates: %N noun phrase (with the
 * article), %P polarity phrase (with its intensifier), %A attribute phrase. */
struct absa_lang {
    const char *code;
    const char *id_prefix;
    const struct entity *entities;
    size_t n_entities;
    const struct attribute *attributes;
    size_t n_attributes;
    const char *templates[MAX_WORDS];
    const char *mention_templates[MAX_WORDS]; /* an entity without an opinion */
    const char *intensifiers[MAX_WORDS];
    const char *positive[MAX_WORDS];
    const char *negative[MAX_WORDS];
    const char *neutral[MAX_WORDS];
    const char *negation;      /* "not" */
    const char *conflict_glue; /* " but also " */
    const char *connectors[MAX_WORDS];
    const char *const *fillers; /* NULL-terminated, any length */
    int cue_hyphen;             /* German compounds: "das Velora-Zimmer" */
};

static const struct entity EN_ENTITIES[] = {
    {"LAPTOP", {"laptop", "computer", "notebook", "machine", NULL}},
    {"BATTERY", {"battery", "battery life", "charge", NULL}},
    {"DISPLAY", {"screen", "display", "panel", NULL}},
    {"KEYBOARD", {"keyboard", "key travel", "backlight", NULL}},
    {"MOUSE", {"touchpad", "trackpad", "mouse", NULL}},
    {"CPU", {"processor", "cpu", "chip", NULL}},
    {"MEMORY", {"memory", "ram", "memory upgrade", NULL}},
    {"HARD_DISC", {"hard drive", "ssd", "storage", "disk", NULL}},
    {"GRAPHICS", {"graphics card", "gpu", "graphics", NULL}},
    {"SOFTWARE", {"software", "preinstalled app", "bundled program", NULL}},
    {"OS", {"operating system", "windows install", "os", NULL}},
    {"PORTS", {"usb port", "hdmi port", "port selection", NULL}},
    {"POWER_SUPPLY", {"charger", "power adapter", "power cord", NULL}},
    {"SUPPORT", {"customer support", "tech support", "support staff", NULL}},
    {"WARRANTY", {"warranty", "guarantee", "extended warranty", NULL}},
};

static const struct attribute EN_ATTRIBUTES[] = {
    {"GENERAL", {"", "", "overall", "in general", "all in all", NULL}},
    {"PRICE", {"for the price", "for what it costs", "given the cost", "value-wise", NULL}},
    {"QUALITY",
     {"in build quality", "quality-wise", "in terms of durability", "as far as sturdiness goes",
      NULL}},
    {"DESIGN_FEATURES", {"in design", "in its looks", "design-wise", "in the feature set", NULL}},
    {"OPERATION_PERFORMANCE",
     {"in performance", "speed-wise", "under heavy load", "when it comes to speed", NULL}},
    {"USABILITY", {"to use", "in everyday use", "in handling", "for ease of use", NULL}},
};

static const char *const EN_FILLERS[] = {
    "I bought it last month",
    "we use it every day at the office",
    "my sister recommended it to me",
    "it arrived on a Monday",
    "I have had it for about a year",
    "this is my second one from them",
    "I read many reviews before ordering",
    "the box was a bit damaged",
    "we ordered it online",
    "I mostly work from home",
    "my old one broke in spring",
    "I use it for school and some games",
    "the delivery took three days",
    "it came with a short manual",
    "I needed something for travel",
    NULL,
};

static const struct absa_lang LANG_EN = {
    .code = "en",
    .id_prefix = "synth-en",
    .entities = EN_ENTITIES,
    .n_entities = N(EN_ENTITIES),
    .attributes = EN_ATTRIBUTES,
    .n_attributes = N(EN_ATTRIBUTES),
    .templates = {"%N is %P %A", "%N was %P %A", "I found %N %P %A", "%N: %P %A", "%A, %N is %P",
                  NULL},
    .mention_templates = {"I looked at %N too", "next time I will check %N",
                          "the seller told me about %N", NULL},
    .intensifiers = {"", "", "really ", "very ", "quite ", "pretty ", "extremely ", NULL},
    .positive = {"great", "excellent", "amazing", "good", "fantastic", "superb", "solid", NULL},
    .negative = {"terrible", "awful", "poor", "bad", "disappointing", "horrible", "weak", NULL},
    .neutral = {"okay", "average", "acceptable", "standard", "ordinary", "as expected", NULL},
    .negation = "not",
    .conflict_glue = " but also ",
    .connectors = {". ", ", and ", " but ", "; ", ", also ", NULL},
    .fillers = EN_FILLERS,
    .cue_hyphen = 0,
};

static const struct entity DE_ENTITIES[] = {
    {"HOTEL", {"das Hotel", "die Unterkunft", "das Haus", NULL}},
    {"ZIMMER", {"das Zimmer", "die Suite", "der Raum", NULL}},
    {"BAD", {"das Bad", "die Dusche", "das Badezimmer", NULL}},
    {"BETT", {"das Bett", "die Matratze", "das Kopfkissen", NULL}},
    {"FRUEHSTUECK", {"das Frühstück", "das Büfett", "der Kaffee", NULL}},
    {"RESTAURANT", {"das Restaurant", "das Abendessen", "die Küche", NULL}},
    {"SERVICE", {"der Service", "das Personal", "die Rezeption", NULL}},
    {"LAGE", {"die Lage", "die Umgebung", "die Anbindung", NULL}},
    {"WLAN", {"das WLAN", "das Internet", "die Verbindung", NULL}},
    {"PARKEN", {"der Parkplatz", "die Tiefgarage", "das Parkhaus", NULL}},
};

static const struct attribute DE_ATTRIBUTES[] = {
    {"ALLGEMEIN", {"", "", "insgesamt", "alles in allem", "im Großen und Ganzen", NULL}},
    {"PREIS", {"für den Preis", "preislich", "was die Kosten angeht", "für das Geld", NULL}},
    {"QUALITAET", {"qualitativ", "von der Qualität her", "in der Ausstattung", NULL}},
    {"SAUBERKEIT", {"was die Sauberkeit angeht", "hygienisch", "vom Putzen her", NULL}},
    {"KOMFORT", {"vom Komfort her", "in der Bequemlichkeit", "was den Komfort betrifft", NULL}},
};

static const char *const DE_FILLERS[] = {
    "wir waren im Mai dort",
    "ich war geschäftlich unterwegs",
    "wir blieben drei Nächte",
    "wir kamen spät am Abend an",
    "meine Frau hat das gebucht",
    "es war unser zweiter Besuch",
    "wir reisten mit zwei Kindern",
    "die Anreise dauerte lange",
    "wir haben online gebucht",
    "das Wetter war durchwachsen",
    "wir waren zu einer Hochzeit in der Stadt",
    "ein Freund hatte es empfohlen",
    NULL,
};

static const struct absa_lang LANG_DE = {
    .code = "de",
    .id_prefix = "synth-de",
    .entities = DE_ENTITIES,
    .n_entities = N(DE_ENTITIES),
    .attributes = DE_ATTRIBUTES,
    .n_attributes = N(DE_ATTRIBUTES),
    .templates = {"%N ist %P %A", "%N war %P %A", "meiner Meinung nach war %N %P %A", "%N: %P %A",
                  "%A war %N %P", NULL},
    .mention_templates = {"ob %N etwas taugt, weiß ich nicht", "%N spielte für uns keine Rolle",
                          NULL},
    .intensifiers = {"", "", "sehr ", "wirklich ", "ziemlich ", "echt ", NULL},
    .positive = {"gut", "toll", "super", "ausgezeichnet", "hervorragend", "prima", "schön", NULL},
    .negative = {"schlecht", "furchtbar", "enttäuschend", "mies", "schrecklich", "miserabel", NULL},
    .neutral = {"okay", "durchschnittlich", "in Ordnung", "normal", "akzeptabel", NULL},
    .negation = "nicht",
    .conflict_glue = ", aber auch ",
    .connectors = {". ", ", und ", ", aber ", "; ", ", und auch ", NULL},
    .fillers = DE_FILLERS,
    .cue_hyphen = 1,
};

/* ---- ABSA generation ---------------------------------------------------- */

enum { POL_POS, POL_NEG, POL_NEU, POL_CONFLICT };
static const char *const POLARITY_NAMES[] = {"positive", "negative", "neutral", "conflict"};

struct sdoc {
    int cat[MAX_ASPECTS];
    int pol[MAX_ASPECTS];
    int n;
};

struct absa_spec {
    const struct absa_lang *lang;
    size_t n_train, n_test;
    uint64_t seed;
    double zipf_s;
};

static int sdoc_has(const struct sdoc *d, int c)
{
    for (int k = 0; k < d->n; k++)
        if (d->cat[k] == c)
            return 1;
    return 0;
}

static int draw_polarity(struct rng *r)
{
    double u = rng_unit(r);
    return u < 0.58 ? POL_POS : u < 0.88 ? POL_NEG : u < 0.96 ? POL_NEU : POL_CONFLICT;
}

/* A made-up cue word, "velora": 3 consonant-vowel syllables, unique among cues[0..n). */
static void make_cue(struct rng *r, char cues[][8], size_t n)
{
    static const char cons[] = "bdfgklmnprstvz", vow[] = "aeiou";
    for (;;) {
        char *w = cues[n];
        for (int s = 0; s < 3; s++) {
            w[2 * s] = cons[rng_below(r, sizeof cons - 1)];
            w[2 * s + 1] = vow[rng_below(r, sizeof vow - 1)];
        }
        w[6] = '\0';
        size_t j = 0;
        while (j < n && strcmp(cues[j], w) != 0)
            j++;
        if (j == n)
            return;
    }
}

/* Plant category c into `count` distinct documents of docs[lo, hi) that have room. */
static void plant(struct rng *r, struct sdoc *docs, size_t lo, size_t hi, int c, int count)
{
    for (int done = 0, tries = 0; done < count && tries < 100000; tries++) {
        struct sdoc *d = &docs[lo + rng_below(r, hi - lo)];
        if (d->n >= 3 || sdoc_has(d, c))
            continue;
        d->cat[d->n] = c;
        d->pol[d->n] = draw_polarity(r);
        d->n++;
        done++;
    }
}

/* The polarity phrase of one aspect into f. */
static void put_polarity(FILE *f, struct rng *r, const struct absa_lang *L, int pol)
{
    switch (pol) {
    case POL_POS:
        if (rng_unit(r) < 0.12)
            fprintf(f, "%s %s", L->negation, pick(r, L->negative));
        else
            fprintf(f, "%s%s", pick(r, L->intensifiers), pick(r, L->positive));
        break;
    case POL_NEG:
        if (rng_unit(r) < 0.15)
            fprintf(f, "%s %s", L->negation, pick(r, L->positive));
        else
            fprintf(f, "%s%s", pick(r, L->intensifiers), pick(r, L->negative));
        break;
    case POL_NEU:
        fputs(pick(r, L->neutral), f);
        break;
    default:
        if (rng_unit(r) < 0.5)
            fprintf(f, "%s%s%s%s", pick(r, L->intensifiers), pick(r, L->positive), L->conflict_glue,
                    pick(r, L->negative));
        else
            fprintf(f, "%s%s%s%s", pick(r, L->intensifiers), pick(r, L->negative), L->conflict_glue,
                    pick(r, L->positive));
        break;
    }
}

/* The noun phrase of entity e into f, with the cue word before the noun if cue != NULL. */
static void put_noun(FILE *f, struct rng *r, const struct absa_lang *L, size_t e, const char *cue)
{
    const char *np = pick(r, L->entities[e].nouns);
    if (!L->cue_hyphen) {
        fprintf(f, "the %s%s%s", cue ? cue : "", cue ? " " : "", np);
        return;
    }
    /* German: the article is part of the phrase; the cue is capitalised into a compound */
    const char *sp = strchr(np, ' ');
    if (!cue || !sp) {
        fputs(np, f);
        return;
    }
    fprintf(f, "%.*s %c%s-%s", (int)(sp - np), np, cue[0] - 'a' + 'A', cue + 1, sp + 1);
}

/* Expand template t into f for entity e, attribute a, polarity pol, cue word or NULL. */
static void put_clause(FILE *f, struct rng *r, const struct absa_lang *L, const char *t, size_t e,
                       size_t a, int pol, const char *cue)
{
    for (const char *p = t; *p; p++) {
        if (*p != '%' || !p[1]) {
            fputc(*p, f);
            continue;
        }
        switch (*++p) {
        case 'N':
            put_noun(f, r, L, e, cue);
            break;
        case 'P':
            put_polarity(f, r, L, pol);
            break;
        case 'A':
            fputs(pick(r, L->attributes[a].phrases), f);
            break;
        default:
            fputc(*p, f);
            break;
        }
    }
}

/* Collapse runs of spaces, drop spaces before , . ; : and at the ends, capitalise an
 * ASCII letter that starts a sentence. In place. */
static void tidy(char *s)
{
    char *w = s;
    for (const char *p = s; *p; p++) {
        if (*p == ' ' && (w == s || w[-1] == ' ' || p[1] == ',' || p[1] == '.' || p[1] == ';' ||
                          p[1] == ':' || p[1] == '\0'))
            continue;
        if (*p == ',' && w > s && w[-1] == ',')
            continue;
        *w++ = *p;
    }
    *w = '\0';
    for (char *p = s; *p; p++)
        if (*p >= 'a' && *p <= 'z' &&
            (p == s || (p - s >= 2 && p[-1] == ' ' && (p[-2] == '.' || p[-2] == '!'))))
            *p = (char)(*p - 'a' + 'A');
}

/* The text of one document (malloc'd), or NULL on out of memory. */
static char *render(struct rng *r, const struct absa_spec *sp, const struct sdoc *d, char cues[][8])
{
    const struct absa_lang *L = sp->lang;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    /* clause slots: aspects, then 0-2 fillers, then maybe a bare mention; shuffled */
    int order[MAX_ASPECTS + 3];
    int n = 0;
    for (int k = 0; k < d->n; k++)
        order[n++] = k;
    double u = rng_unit(r);
    int fill = d->n == 0 ? 1 + (u < 0.4) : u < 0.25 ? 1 : u < 0.3 ? 2 : 0;
    for (int k = 0; k < fill; k++)
        order[n++] = -1;
    if (rng_unit(r) < (d->n == 0 ? 0.35 : 0.08))
        order[n++] = -2;
    for (int i = n; i > 1; i--) {
        size_t j = rng_below(r, (size_t)i);
        int t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < n; i++) {
        if (i > 0)
            fputs(pick(r, L->connectors), f);
        int k = order[i];
        if (k == -1) {
            fputs(L->fillers[rng_below(r, list_len(L->fillers))], f);
        } else if (k == -2) {
            put_clause(f, r, L, pick(r, L->mention_templates), rng_below(r, L->n_entities), 0,
                       POL_NEU, NULL);
        } else {
            size_t c = (size_t)d->cat[k];
            size_t e = c / L->n_attributes, a = c % L->n_attributes;
            const char *cue = rng_unit(r) < 0.5 ? cues[c] : NULL;
            put_clause(f, r, L, pick(r, L->templates), e, a, d->pol[k], cue);
        }
    }
    fputs(rng_unit(r) < 0.85 ? "." : "!", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    tidy(buf);
    return buf;
}

static int write_absa(const struct absa_spec *sp, const char *path, int test_only, struct err *err)
{
    const struct absa_lang *L = sp->lang;
    size_t K = L->n_entities * L->n_attributes, n = sp->n_train + sp->n_test;
    size_t n_reg = K - N_RARE - N_TEST_ONLY;
    struct rng r = {sp->seed};
    struct sdoc *docs = calloc(n, sizeof *docs);
    int *perm = malloc(K * sizeof *perm);
    double *cdf = malloc(n_reg * sizeof *cdf);
    char(*cues)[8] = malloc(K * sizeof *cues);
    FILE *f = NULL;
    int rc = -1;

    if (!docs || !perm || !cdf || !cues) {
        err_set(err, ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t c = 0; c < K; c++) {
        perm[c] = (int)c;
        make_cue(&r, cues, c);
    }
    for (size_t i = K; i > 1; i--) {
        size_t j = rng_below(&r, i);
        int t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    double sum = 0;
    for (size_t k = 0; k < n_reg; k++)
        cdf[k] = sum += pow((double)(k + 1), -sp->zipf_s);
    for (size_t i = 0; i < n; i++) {
        struct sdoc *d = &docs[i];
        double u = rng_unit(&r);
        int want = u < 0.10 ? 0 : u < 0.70 ? 1 : u < 0.92 ? 2 : 3;
        while (d->n < want) {
            double x = rng_unit(&r) * sum;
            size_t k = 0;
            while (k + 1 < n_reg && cdf[k] < x)
                k++;
            if (sdoc_has(d, perm[k]))
                continue;
            d->cat[d->n] = perm[k];
            d->pol[d->n] = draw_polarity(&r);
            d->n++;
        }
    }
    /* the rare categories: 1, 1, 2, 2 training documents and one test document each */
    for (int k = 0; k < N_RARE; k++) {
        int c = perm[n_reg + (size_t)k];
        plant(&r, docs, 0, sp->n_train, c, 1 + k / 2);
        plant(&r, docs, sp->n_train, n, c, 1);
    }
    /* the test-only categories: 2 and 3 test documents; drawn even when left out so
     * that the rest of the set does not depend on the option */
    for (int k = 0; k < N_TEST_ONLY; k++) {
        int c = perm[n_reg + N_RARE + (size_t)k];
        struct rng r2 = {sp->seed ^ (0x7e57u + (uint64_t)k)};
        if (test_only)
            plant(&r2, docs, sp->n_train, n, c, 2 + k);
    }
    f = fopen(path, "w");
    if (!f) {
        err_set(err, ERR_IO, "cannot create %s: %s", path, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct sdoc *d = &docs[i];
        /* one stream per document: leaving the test-only aspects out changes only
         * the documents that had them */
        struct rng rd = {sp->seed + 0x100000000ull * (i + 1)};
        char *text = render(&rd, sp, d, cues);
        char id[64];
        if (!text) {
            err_set(err, ERR_NOMEM, "out of memory");
            goto out;
        }
        snprintf(id, sizeof id, "%s-%05zu", L->id_prefix, i + 1);
        json_t *labels = json_array(), *aspects = json_array();
        for (int k = 0; k < d->n; k++) {
            char cat[128];
            size_t c = (size_t)d->cat[k];
            snprintf(cat, sizeof cat, "%s#%s", L->entities[c / L->n_attributes].name,
                     L->attributes[c % L->n_attributes].name);
            json_array_append_new(labels, json_string(cat));
            json_array_append_new(aspects, json_pack("{s:s, s:s}", "category", cat, "polarity",
                                                     POLARITY_NAMES[d->pol[k]]));
        }
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "id", id, "text", text, "lang",
                              L->code, "labels", labels, "aspects", aspects, "split",
                              i < sp->n_train ? "train" : "test");
        free(text);
        if (!o || json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 ||
            fputc('\n', f) == EOF) {
            json_decref(o);
            err_set(err, ERR_IO, "cannot write %s", path);
            goto out;
        }
        json_decref(o);
    }
    rc = 0;
out:
    if (f && fclose(f) != 0 && rc == 0) {
        err_set(err, ERR_IO, "cannot write %s", path);
        rc = -1;
    }
    free(docs);
    free(perm);
    free(cdf);
    free(cues);
    return rc;
}

/* ---- CLASS generation (Arabic) ------------------------------------------ */

struct class_def {
    const char *name;
    const char *cues[12];
};

static const struct class_def AR_CLASSES[] = {
    {"sport",
     {"المباراة", "الفريق", "اللاعب", "الهدف", "الدوري", "المدرب", "البطولة", "الملعب", "الجمهور",
      "الكرة", NULL}},
    {"economy",
     {"السوق", "الأسعار", "البنك", "الاقتصاد", "الاستثمار", "الشركة", "النفط", "التضخم", "الأسهم",
      "الميزانية", NULL}},
    {"politics",
     {"الحكومة", "الوزير", "الانتخابات", "البرلمان", "الرئيس", "الحزب", "المعارضة", "القانون",
      "السفير", "القمة", NULL}},
    {"technology",
     {"الهاتف", "التطبيق", "الإنترنت", "البرنامج", "الحاسوب", "الشبكة", "البيانات", "الذكاء",
      "الروبوت", "المنصة", NULL}},
};

static const char *const AR_FILLERS[] = {
    "في",   "من",  "على",  "إلى", "هذا",  "هذه",  "اليوم", "قال",     "أن",
    "مع",   "بعد", "قبل",  "كان", "جديد", "كبير", "العام", "الأسبوع", "المدينة",
    "مساء", "أمس", "خلال", "حول", "عن",   "التي", NULL,
};

static int write_class_ar(const char *path, struct err *err)
{
    const size_t n_train = 320, n_test = 80, nc = N(AR_CLASSES);
    struct rng r = {0xa7ab1cull};
    FILE *f = fopen(path, "w");
    if (!f) {
        err_set(err, ERR_IO, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n_train + n_test && rc == 0; i++) {
        /* classes 40 / 30 / 20 / 10 % */
        double u = rng_unit(&r);
        size_t c = u < 0.4 ? 0 : u < 0.7 ? 1 : u < 0.9 ? 2 : 3;
        size_t len = 6 + rng_below(&r, 9), ncue = 2 + rng_below(&r, 3);
        char *text = NULL;
        size_t tl = 0;
        FILE *m = open_memstream(&text, &tl);
        if (!m) {
            err_set(err, ERR_NOMEM, "out of memory");
            rc = -1;
            break;
        }
        for (size_t w = 0; w < len; w++) {
            const char *word;
            double v = rng_unit(&r);
            if (w % 3 == 1 && ncue > 0) {
                /* 15 %: another class's cue word (noise) */
                size_t cc = v < 0.15 ? rng_below(&r, nc) : c;
                word = pick(&r, AR_CLASSES[cc].cues);
                ncue--;
            } else {
                word = AR_FILLERS[rng_below(&r, list_len(AR_FILLERS))];
            }
            fprintf(m, "%s%s", w ? " " : "", word);
        }
        fputc('.', m);
        if (fclose(m) != 0) {
            free(text);
            err_set(err, ERR_NOMEM, "out of memory");
            rc = -1;
            break;
        }
        char id[64];
        snprintf(id, sizeof id, "synth-ar-%05zu", i + 1);
        json_t *o =
            json_pack("{s:s, s:s, s:s, s:[s], s:s}", "id", id, "text", text, "lang", "ar", "labels",
                      AR_CLASSES[c].name, "split", i < n_train ? "train" : "test");
        free(text);
        if (!o || json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 ||
            fputc('\n', f) == EOF) {
            err_set(err, ERR_IO, "cannot write %s", path);
            rc = -1;
        }
        json_decref(o);
    }
    if (fclose(f) != 0 && rc == 0) {
        err_set(err, ERR_IO, "cannot write %s", path);
        rc = -1;
    }
    return rc;
}

/* ---- the sets ----------------------------------------------------------- */

static const struct absa_spec SPEC_EN = {&LANG_EN, 4000, 1000, 0x5e7a90ull, 1.0};
static const struct absa_spec SPEC_DE = {&LANG_DE, 3000, 750, 0x5e7d50ull, 1.0};

static const char *const NAMES[] = {"synthetic_absa_en", "synthetic_absa_de", "synthetic_class_ar"};

size_t synth_count(void)
{
    return N(NAMES);
}

const char *synth_name(size_t i)
{
    return i < N(NAMES) ? NAMES[i] : NULL;
}

int synth_write(size_t i, const char *path, int test_only, struct err *err)
{
    switch (i) {
    case 0:
        return write_absa(&SPEC_EN, path, test_only, err);
    case 1:
        return write_absa(&SPEC_DE, path, test_only, err);
    case 2:
        return write_class_ar(path, err);
    default:
        err_set(err, ERR_INVALID, "no synthetic set %zu", i);
        return -1;
    }
}
